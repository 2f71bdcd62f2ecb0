import { afterEach, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';

async function submit(c: TestCluster, body: unknown): Promise<TaskView> {
  const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return (await res.json()) as TaskView;
}
const get = async (c: TestCluster, id: string) => (await (await fetch(`${c.httpUrl}/api/v1/tasks/${id}`)).json()) as TaskView;

describe('scheduling through the real master and workers', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('completes many concurrent tasks of mixed priorities, each with its own result', async () => {
    c = await startCluster({ workers: 2, workerCapacity: 8 });
    const n = 400;
    const submitted = await Promise.all(
      Array.from({ length: n }, (_, i) => submit(c!, { kind: 'echo', input: { text: `task number ${i}` }, priority: i % 10 })),
    );
    const done = await Promise.all(submitted.map((t) => waitForTask(c!.httpUrl, t.id, 30_000)));
    done.forEach((t, i) => {
      expect(t.status).toBe('succeeded');
      expect(t.result).toEqual({ text: `task number ${i}` });
    });
    const byWorker = new Set(done.map((t) => t.worker_id));
    expect(byWorker.size).toBe(2);
  });

  it('dispatches higher priority first when tasks wait', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    const blocker = await submit(c, { kind: 'sleep', input: { ms: 300 } });
    await waitFor(async () => (await get(c!, blocker.id)).status === 'running', 'blocker running');
    const low = await submit(c, { kind: 'echo', input: { text: 'low' }, priority: 1 });
    const mid = await submit(c, { kind: 'echo', input: { text: 'mid' }, priority: 5 });
    const high = await submit(c, { kind: 'echo', input: { text: 'high' }, priority: 9 });
    const low2 = await submit(c, { kind: 'echo', input: { text: 'low2' }, priority: 1 });
    const results = await Promise.all([low, mid, high, low2].map((t) => waitForTask(c!.httpUrl, t.id)));
    const order = results.sort((a, b) => Date.parse(a.finished_at!) - Date.parse(b.finished_at!) || a.timings.total_ms! - b.timings.total_ms!);
    const startOrder = results
      .map((t) => ({ text: (t.result as { text: string }).text, at: Date.parse(t.history.find((h) => h.status === 'assigned')!.at) }))
      .sort((a, b) => a.at - b.at)
      .map((x) => x.text);
    expect(order).toHaveLength(4);
    expect(startOrder).toEqual(['high', 'mid', 'low', 'low2']);
  });

  it('a task waits while no worker is idle and runs when one frees up', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    const busy = await submit(c, { kind: 'sleep', input: { ms: 400 } });
    await waitFor(async () => (await get(c!, busy.id)).status === 'running', 'sleep running');
    const waiting = await submit(c, { kind: 'echo', input: { text: 'after' } });
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(c, waiting.id)).status).toBe('queued');
    const done = await waitForTask(c.httpUrl, waiting.id);
    expect(done.status).toBe('succeeded');
    const sleepDone = await get(c, busy.id);
    expect(Date.parse(done.history.find((h) => h.status === 'assigned')!.at)).toBeGreaterThanOrEqual(Date.parse(sleepDone.finished_at!));
  });

  it('a worker that registers mid-run gets work', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    const busy = await submit(c, { kind: 'sleep', input: { ms: 3000 } });
    await waitFor(async () => (await get(c!, busy.id)).status === 'running', 'sleep running');
    const waiting = await submit(c, { kind: 'echo', input: { text: 'for the newcomer' } });
    const newcomer = await c.addWorker({ capacity: 1 });
    const done = await waitForTask(c.httpUrl, waiting.id);
    expect(done.worker_id).toBe(newcomer.id);
    expect((await get(c, busy.id)).status).toBe('running');
  });

  it('re-dispatches the tasks of a worker that vanishes (Last Will) with attempt + 1', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 2 });
    const doomed = c.workers[0]!;
    const tasks = [await submit(c, { kind: 'sleep', input: { ms: 60_000 } }), await submit(c, { kind: 'sleep', input: { ms: 60_000 } })];
    await waitFor(async () => (await Promise.all(tasks.map((t) => get(c!, t.id)))).every((t) => t.status === 'running'), 'both running');
    const rescuer = await c.addWorker({ capacity: 2 });
    // Cut the connection without a clean goodbye: the broker publishes the Last Will.
    (doomed as unknown as { client: { stream: { destroy(): void }; options: { reconnectPeriod: number } } }).client.options.reconnectPeriod = 0;
    (doomed as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
    await waitFor(async () => (await Promise.all(tasks.map((t) => get(c!, t.id)))).every((t) => t.worker_id === rescuer.id && t.attempt === 2), 're-dispatch', 15_000);
    const view = await get(c, tasks[0]!.id);
    expect(view.history.some((h) => h.status === 'queued' && /lost/.test(h.reason ?? ''))).toBe(true);
    for (const t of tasks) await fetch(`${c.httpUrl}/api/v1/tasks/${t.id}/cancel`, { method: 'POST' });
  });

  it('runs echo and sleep through the REST helper end to end', async () => {
    c = await startCluster({ workers: 2 });
    const s = await runTask(c.httpUrl, { kind: 'sleep', input: { ms: 50 } });
    expect(s.status).toBe('succeeded');
    expect((s.result as { slept_ms: number }).slept_ms).toBeGreaterThanOrEqual(45);
    expect(s.timings.processing_ms).toBeGreaterThanOrEqual(45);
    expect(s.timings.queue_wait_ms).not.toBeNull();
  });
});
