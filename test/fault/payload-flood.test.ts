/**
 * Hardening: a flood of ~1 MiB submits from several clients without any
 * credential cannot run the master out of memory. Payloads are held by
 * bytes (finished-task cache, unfinished input per caller); what does not
 * fit is refused with 429 before it is stored. Meanwhile another user's
 * small task still runs, and every acknowledged task exists and finishes.
 * Opt-in (it takes over a minute and its memory figure depends on the
 * machine): TASKWIRE_FLOOD_SECONDS=15 (or 60, the figure) runs it.
 * Known open finding: on a quiet 2-core machine a 15 s run peaked at
 * 637 MiB against 592 MiB (budgets + 400 MiB) and 5 of 490 accepted tasks
 * did not succeed; see the issue note.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { faultFixture, printCounts, settleTasks, sleep, spawnWorker, startMasterProcess, workerReady } from './fault-cluster.js';

const MiB = 1024 * 1024;
const CACHE = 64 * MiB;
const UNFINISHED = 32 * MiB; // per caller; all callers together 4x
/** What the master may use besides the payload budgets: V8, modules, sockets, parse buffers. */
const OVERHEAD = 400 * MiB;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const FLOOD_SECONDS = process.env.TASKWIRE_FLOOD_SECONDS;

describe.skipIf(!FLOOD_SECONDS)('payload flood (set TASKWIRE_FLOOD_SECONDS to run)', () => {
  const { group, tmp } = faultFixture('tw-flood-');

  it('keeps the master within its memory budget and answering; nothing acknowledged is lost', async () => {
    const seconds = Number(FLOOD_SECONDS);
    const token = `flood-${process.pid}-token`;
    const master = await startMasterProcess(group, {
      dataDir: tmp.dir,
      clusterToken: token,
      env: { TASKWIRE_CACHE_MAX_BYTES: String(CACHE), TASKWIRE_MAX_UNFINISHED_BYTES: String(UNFINISHED) },
    });
    const worker = spawnWorker(group, { id: 'flood-w1', mqttUrl: master.mqttUrl, dir: tmp.dir, clusterToken: token, capacity: 8 });
    await workerReady(worker);
    const text = 'x'.repeat(MiB - 1024);
    const accepted: string[] = [];
    let refused = 0;
    let otherErrors = 0;
    let peak = 0;
    const until = Date.now() + seconds * 1000;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(master.proc.pid))), 200);
    const client = async () => {
      while (Date.now() < until) {
        try {
          const res = await fetch(`${master.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text } }) });
          if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
          else if (res.status === 429) (refused++, await res.arrayBuffer(), await sleep(20));
          else (otherErrors++, await res.arrayBuffer());
        } catch {
          otherErrors++;
        }
      }
    };
    // Another user: small tasks keep being answered during the flood.
    const smallLatencies: number[] = [];
    const small = async () => {
      while (Date.now() < until) {
        const t0 = Date.now();
        const res = await fetch(`${master.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'hi' } }) });
        if (res.status === 202) {
          const id = ((await res.json()) as { id: string }).id;
          const done = await settleTasks(master.httpUrl, [id], 30_000);
          if (done.get(id)?.status === 'succeeded') smallLatencies.push(Date.now() - t0);
        } else await res.arrayBuffer();
        await sleep(500);
      }
    };
    await Promise.all([client(), client(), client(), client(), small()]);
    const settled = await settleTasks(master.httpUrl, accepted, 120_000);
    clearInterval(sampler);
    peak = Math.max(peak, rssOf(master.proc.pid));
    const succeeded = [...settled.values()].filter((t) => t.status === 'succeeded').length;
    const notSucceeded = [...settled.values()].filter((t) => t.status !== 'succeeded').map((t) => `${t.status}:${t.error?.code ?? ''}`);
    const line = printCounts('payload-flood', {
      submitted: accepted.length + refused,
      succeeded,
      lost: accepted.length - settled.size,
      duplicate_results: 0,
      accepted: accepted.length,
      refused_429: refused,
      other_errors: otherErrors,
      peak_rss_mib: Math.round(peak / MiB),
      budget_mib: Math.round((CACHE + 4 * UNFINISHED + OVERHEAD) / MiB),
      small_tasks_answered: smallLatencies.length,
      small_task_max_ms: Math.max(0, ...smallLatencies),
      seconds,
      not_succeeded: [...new Set(notSucceeded)].join(',') || 'none',
    });
    expect(accepted.length, line).toBeGreaterThan(0);
    expect(settled.size, line).toBe(accepted.length);
    expect(succeeded, line).toBe(accepted.length);
    expect(smallLatencies.length, line).toBeGreaterThan(0);
    expect(peak, line).toBeLessThan(CACHE + 4 * UNFINISHED + OVERHEAD);
    expect(master.proc.running, line).toBe(true);
  }, 240_000);
});
