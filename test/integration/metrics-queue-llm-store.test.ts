/**
 * The metrics added for issue 15 move after real tasks: retries and dead
 * letters by reason, rejected results by reason, queue depth by kind and
 * priority, oldest queued age, in-flight by worker, workers per kind,
 * dispatch latency, time to first token, tokens per second and tokens by
 * model, Socket.IO clients, event-stream followers and the durable store's
 * commit latency (a real master with a data dir, a real worker).
 */
import { promSamples } from '../helpers/prom-text.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { runTask, startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import type { TaskView } from '../../common/task-view.js';

async function scrape(url: string): Promise<Map<string, number>> {
  return promSamples(await (await fetch(`${url}/metrics`)).text());
}

/** An llm stand-in: one streamed chunk after a short pause, then usage. */
const llm: TaskHandler = {
  kind: 'llm',
  run: async (ctx) => {
    await new Promise((r) => setTimeout(r, 20));
    ctx.emit({ text: 'hello' });
    await new Promise((r) => setTimeout(r, 20));
    return { output: { text: 'hello world' }, usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 } };
  },
};

/** Always fails with a retryable code: retried, then dead-lettered. */
const flaky: TaskHandler = {
  kind: 'flaky',
  run: async () => {
    throw new TaskFailure('PROVIDER_UNAVAILABLE', 'down (test)', { retryable: true });
  },
};

describe('queue, llm, client and store metrics', () => {
  let c: TestCluster;
  let dir: string;
  let workerId: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tw-metrics-'));
    c = await startCluster({ workers: 0, master: { dataDir: dir, retryBaseMs: 5, retryMaxMs: 20 } });
    const w = await c.addWorker({ capacity: 1, kinds: ['echo', 'sleep', 'llm', 'flaky'] }, { handlers: [llm, flaky] });
    workerId = w.id;
    await c.waitForWorkers(1);
  }, 30_000);
  afterAll(async () => {
    await c?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each new metric moves', async () => {
    const get = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
    const before = await scrape(c.httpUrl);
    const delta = (after: Map<string, number>, k: string) => get(after, k) - get(before, k);

    // llm: ttft, tokens/s, tokens by model (the task names none: `default`).
    const { task } = await c.master.tasks.submit({ kind: 'llm', input: { messages: [{ role: 'user', content: 'hi' }] }, stream: true });
    expect((await waitForTask(c.httpUrl, task.id)).status).toBe('succeeded');
    // Retried once, then out of attempts: a dead letter.
    expect((await runTask(c.httpUrl, { kind: 'flaky', input: {}, max_attempts: 2 })).status).toBe('failed');

    // A running task fills the only slot; a task of priority 7 waits behind it.
    const post = async (body: unknown) =>
      (await (await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as TaskView;
    const sleeping = await post({ kind: 'sleep', input: { ms: 60_000 } });
    await waitFor(() => c.master.tasks.get(sleeping.id)?.status === 'running', 'sleep running');
    const waiting = await post({ kind: 'echo', input: { text: 'later' }, priority: 7 });
    await new Promise((r) => setTimeout(r, 30));
    // A browser and an event-stream follower are connected.
    const socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false });
    const follow = new AbortController();
    const events = await fetch(`${c.httpUrl}/api/v1/events`, { signal: follow.signal });
    expect(events.status).toBe(200);
    try {
      await waitFor(() => socket.connected, 'socket connected');
      await waitFor(() => c.master.eventLog.followerCount > 0, 'a follower');
      const during = await scrape(c.httpUrl);
      expect(get(during, 'taskwire_queue_tasks{kind="echo",priority="7"}')).toBe(1);
      expect(get(during, 'taskwire_queue_oldest_age_seconds{kind="echo"}')).toBeGreaterThan(0);
      expect(during.has('taskwire_queue_overdue_tasks{kind="echo"}')).toBe(true);
      expect(get(during, `taskwire_worker_in_flight_tasks{worker_id="${workerId}"}`)).toBe(1);
      expect(get(during, 'taskwire_kind_online_workers{kind="echo"}')).toBe(1);
      expect(get(during, 'taskwire_socketio_clients')).toBe(1);
      expect(get(during, 'taskwire_event_stream_followers')).toBeGreaterThanOrEqual(1);
    } finally {
      socket.close();
      follow.abort();
      await events.body?.cancel().catch(() => undefined);
    }
    await fetch(`${c.httpUrl}/api/v1/tasks/${sleeping.id}/cancel`, { method: 'POST' });
    expect((await waitForTask(c.httpUrl, waiting.id)).status).toBe('succeeded');
    const forged = c.master.intake.handleEvent({ task_id: sleeping.id, attempt: 1, worker_id: 'nobody', result_token: 'forged', seq: 1, event: 'heartbeat' } as never);
    expect(forged.disposition).toBe('DISPOSITION_REJECTED');

    const after = await scrape(c.httpUrl);
    expect(delta(after, 'taskwire_task_time_to_first_token_seconds_count{kind="llm"}')).toBe(1);
    expect(delta(after, 'taskwire_task_time_to_first_token_seconds_sum{kind="llm"}')).toBeGreaterThan(0);
    expect(delta(after, 'taskwire_task_output_tokens_per_second_count{kind="llm"}')).toBe(1);
    expect(delta(after, 'taskwire_llm_prompt_tokens_total{model="default"}')).toBe(7);
    expect(delta(after, 'taskwire_llm_completion_tokens_total{model="default"}')).toBe(5);
    expect(delta(after, 'taskwire_task_retries_total{kind="flaky",reason="PROVIDER_UNAVAILABLE"}')).toBe(1);
    expect(delta(after, 'taskwire_task_dead_letters_total{kind="flaky",reason="PROVIDER_UNAVAILABLE"}')).toBe(1);
    expect(delta(after, 'taskwire_task_dead_letters_total{kind="llm",reason="OTHER"}')).toBe(0);
    expect(delta(after, 'taskwire_results_rejected_total{reason="invalid_result_token"}')).toBe(1);
    expect(delta(after, 'taskwire_task_dispatch_seconds_count{kind="echo"}')).toBe(1);
    expect(delta(after, 'taskwire_task_dispatch_seconds_count{kind="flaky"}')).toBe(2);
    expect(delta(after, 'taskwire_store_commit_seconds_count')).toBeGreaterThan(0);
    expect(delta(after, 'taskwire_store_commit_rows_sum')).toBeGreaterThan(0);
    expect(after.has('taskwire_queue_tasks{kind="echo",priority="7"}')).toBe(false);
    expect(get(after, 'taskwire_queue_oldest_age_seconds{kind="echo"}')).toBe(0);
    expect(get(after, 'taskwire_socketio_clients')).toBe(0);

    // The real output with every new series in it passes `promtool check metrics` (when installed).
    const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
    if (promtool) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: await (await fetch(`${c.httpUrl}/metrics`)).text(), encoding: 'utf8' });
      expect(r.stdout + r.stderr, 'promtool check metrics findings').toBe('');
      expect(r.status).toBe(0);
    }
  }, 30_000);
});
