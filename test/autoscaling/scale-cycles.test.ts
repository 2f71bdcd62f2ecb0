/**
 * 100 scale-up / scale-down cycles under a varying load on a real master
 * (aedes, gRPC, HTTP on port 0) with real workers (in-process Worker
 * instances over MQTT + gRPC, started and stopped by the local process
 * actuator): every task succeeds on its first attempt (scale-down drains
 * first: 0 lost, 0 retried), the drain path runs with tasks in flight, and
 * the number of scale changes is bounded by the policy (no flapping).
 * TASKWIRE_SCALE_CYCLES changes the count (default 100).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskEventOf } from '../../master/core/task-events.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { inProcessWorkers } from './in-process-workers.js';

const CYCLES = Number(process.env.TASKWIRE_SCALE_CYCLES ?? 100);
const MAX = 3;

let c: TestCluster | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

describe('autoscaling cycles with real workers', () => {
  it(`${CYCLES} cycles: 0 lost, 0 retried, drains under load, changes bounded by the policy`, { timeout: 20 * 60_000 }, async () => {
    const pool = inProcessWorkers(() => c!);
    c = await startCluster({ workers: 0, master: { autoscaleIntervalMs: 50, placement: 'round-robin' }, masterDeps: { localActuator: pool.factory } });
    const m = c.master;
    const decisions: TaskEventOf<'autoscale.decision'>[] = [];
    const retried: string[] = [];
    m.tasks.events.on('autoscale.decision', (e) => void decisions.push(e));
    m.tasks.events.on('task.retried', (e) => void retried.push(e.task_id));
    m.settings.setPolicy({ id: 'test', role: 'admin' }, '*', {
      actuator: 'local',
      min_workers: 1,
      max_workers: MAX,
      target_per_worker: 2,
      max_queue_age_ms: 0,
      scale_down_window_ms: 300,
      max_step_up: MAX,
      max_step_down: 1,
    });
    const actuator = () => pool.actuator();
    const replicas = () => actuator().ids().length;
    await waitFor(() => m.registry.schedulable().length === 1, 'the first worker', 20_000);

    const ids: string[] = [];
    const submit = async (n: number, ms: number) => {
      const res = await fetch(`${c!.httpUrl}/api/v1/tasks/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tasks: Array.from({ length: n }, (_, i) => ({ kind: 'sleep', input: { ms: ms + (i % 3) * 10 } })) }),
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { tasks: { id: string }[] };
      ids.push(...body.tasks.map((t) => t.id));
    };
    const unfinished = () => ids.filter((id) => { const t = m.tasks.get(id); return t && !['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status); }).length;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Up: a burst (varying size and length) wants MAX workers.
      await submit(8 + (cycle % 5) * 2, 40 + (cycle % 4) * 20);
      await waitFor(() => replicas() === MAX, `cycle ${cycle}: scaled up to ${MAX}`, 20_000, 5);
      // Down under load: a trickle of 2 at a time keeps the removed workers busy while they drain.
      while (replicas() > 1) {
        if (unfinished() < 2) await submit(2, 60);
        await new Promise((r) => setTimeout(r, 15));
      }
    }
    await waitFor(() => unfinished() === 0, 'every task finished', 60_000, 20);
    await actuator().drained();

    // 0 lost, 0 retried.
    const finals = ids.map((id) => m.tasks.get(id)!);
    expect(finals.filter((t) => t.status !== 'succeeded').map((t) => `${t.id} ${t.status} ${t.error?.code}`)).toEqual([]);
    expect(finals.filter((t) => t.attempt !== 1).length).toBe(0);
    expect(retried).toEqual([]);
    // The drain path ran, with tasks in flight.
    expect(actuator().counts.drainTimeouts).toBe(0);
    expect(actuator().counts.drainedBusy).toBeGreaterThan(CYCLES / 4);
    // No flapping: each cycle is one scale-up (1 -> MAX in one step) and MAX - 1 single-worker scale-downs.
    const ups = decisions.filter((d) => d.to > d.from);
    const downs = decisions.filter((d) => d.to < d.from);
    expect(ups.length).toBeLessThanOrEqual(CYCLES * 2);
    expect(downs.length).toBeLessThanOrEqual(CYCLES * (MAX - 1) + 1);
    expect(downs.every((d) => d.from - d.to === 1)).toBe(true);
    let reversals = 0;
    for (let i = 1; i < decisions.length; i++) if (Math.sign(decisions[i]!.to - decisions[i]!.from) !== Math.sign(decisions[i - 1]!.to - decisions[i - 1]!.from)) reversals++;
    expect(reversals).toBeLessThanOrEqual(CYCLES * 2 + 2);
    process.stdout.write(`scale cycles: ${CYCLES}, tasks ${ids.length}, ups ${ups.length}, downs ${downs.length}, reversals ${reversals}, drains ${actuator().counts.drained} (busy ${actuator().counts.drainedBusy}), workers started ${actuator().counts.started}\n`);
    await pool.closeAll();
  });
});
