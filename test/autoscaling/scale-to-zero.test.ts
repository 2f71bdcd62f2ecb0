/**
 * Scale to zero on a real master with real (in-process) workers: an idle
 * pool with min_workers 0 goes to zero after scale_to_zero_after_ms; the
 * first task after that is accepted (not refused for want of a worker),
 * waits, and runs on the worker the autoscaler starts for it. A kind no
 * policy covers is still refused at submit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { inProcessWorkers } from './in-process-workers.js';
import type { TaskHandler } from '../../worker/handlers/task-handler.js';

/** A kind of our own (not a diagnostic kind, which is accepted without workers anyway). */
const work: TaskHandler = {
  kind: 'work',
  run: async (ctx) => {
    await new Promise((r) => setTimeout(r, 50));
    return { output: { ok: true, task: ctx.taskId } };
  },
};

let c: TestCluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

describe('scale to zero', () => {
  it('goes to zero when idle, and the first task after idle waits for a new worker instead of failing', async () => {
    const pool = inProcessWorkers(() => c!, 2, [work]);
    c = await startCluster({ workers: 0, master: { autoscaleIntervalMs: 50 }, masterDeps: { localActuator: pool.factory } });
    const m = c.master;
    const decisions: { from: number; to: number; reason: string }[] = [];
    m.tasks.events.on('autoscale.decision', (e) => void decisions.push(e));
    m.settings.setPolicy({ id: 'test', role: 'admin' }, 'work', { actuator: 'local', min_workers: 0, max_workers: 2, scale_to_zero_after_ms: 500, scale_down_window_ms: 200 });
    // Nothing queued, nothing running: it stays at zero.
    await new Promise((r) => setTimeout(r, 300));
    expect(pool.actuator().ids()).toEqual([]);

    const first = await runTask(c.httpUrl, { kind: 'work', input: {} }, 30_000);
    expect(first).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(decisions[0]).toMatchObject({ from: 0, to: 1 });
    // Idle for scale_to_zero_after_ms: back to zero, the worker drained and stopped.
    await waitFor(() => pool.actuator().ids().length === 0 && m.registry.schedulable().length === 0, 'scaled to zero', 20_000);
    expect(decisions.at(-1)).toMatchObject({ from: 1, to: 0 });
    // And again from zero.
    expect(await runTask(c.httpUrl, { kind: 'work', input: {} }, 30_000)).toMatchObject({ status: 'succeeded', attempt: 1 });

    // A kind no policy covers (and no worker serves): refused at submit as before.
    await waitFor(() => m.registry.schedulable().length === 0, 'zero again', 20_000);
    const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'resize', input: {} }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ field: 'kind' });
    await pool.closeAll();
  });
});
