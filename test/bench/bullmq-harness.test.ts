/**
 * The benchmark's BullMQ side (bench/bullmq-bench.ts): it must run the jobs it
 * says it ran, so the side-by-side figures compare the same work. Against a
 * real redis-server the harness starts on 127.0.0.1 (Debian redis-server;
 * skipped without it) and a real BullMQ worker process (dist/, built by
 * `npm test`'s pretest). No timing is asserted.
 */
import { describe, expect, it } from 'vitest';
import { bullLatencyAtRate, bullThroughput, peerSkipReason, startBullEnv } from '../../bench/bullmq-bench.js';

const noRedis = peerSkipReason({ PATH: process.env.PATH }) !== undefined;

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the bench peer', () => {
  it('says why it does not run', () => {
    expect(peerSkipReason({ PATH: process.env.PATH, TASKWIRE_BENCH_PEER: '0' })).toBe('skipped: TASKWIRE_BENCH_PEER=0');
    expect(peerSkipReason({ PATH: '/nonexistent' })).toBe('skipped: redis-server not installed');
  });

  it.skipIf(noRedis)('runs N no-op jobs to completion with 1 worker process, counts each once, and stops what it started', async () => {
    const env = await startBullEnv(1, 4, 'aof');
    const pids = [env.redis.pid, ...env.workers.map((w) => w.pid)];
    try {
      const n = 300;
      const perS = await bullThroughput(env, n, 50);
      expect(perS).toBeGreaterThan(0);
      // Every job added ran once and the run returned only after the last one: nothing left, none failed.
      expect(await env.queue.getJobCounts('completed', 'failed', 'waiting', 'active')).toEqual({ completed: n, failed: 0, waiting: 0, active: 0 });
      const lat = await bullLatencyAtRate(env, 100, 1);
      expect(lat).toHaveLength(100);
      expect(lat.every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true);
      expect(await env.queue.getJobCounts('completed', 'waiting', 'active')).toEqual({ completed: n + 100, waiting: 0, active: 0 });
    } finally {
      await env.close();
    }
    expect(pids.filter(alive)).toEqual([]);
  });
});
