/**
 * The Swarm actuator wired into a real master: TASKWIRE_AUTOSCALE names a
 * `swarm` pool, TASKWIRE_DOCKER_HOST a local fake Engine API (unix socket).
 * Queued tasks of the pool's kind (no worker yet: scale from zero) raise the
 * service's Replicas through POST /services/{id}/update?version=N, within
 * max_workers; when the work is gone it comes down to min_workers after the
 * window. Each change is an autoscale.decision event and a metric.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { FakeEngineApi } from './fake-engine-api.js';

let c: TestCluster | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await c?.close();
  c = undefined;
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe('autoscaling a Swarm service', () => {
  it('scales the service up with the queue and back down, through the Engine API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-swarm-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const api = new FakeEngineApi();
    const svc = api.addService('taskwire_gpu', 0);
    const dockerHost = await api.listen({ socketPath: join(dir, 'docker.sock') });
    cleanups.push(() => api.close());
    c = await startCluster({
      workers: 0,
      master: {
        dockerHost,
        autoscaleIntervalMs: 50,
        autoscale: JSON.stringify({ gpu: { actuator: 'swarm', service: 'taskwire_gpu', min_workers: 0, max_workers: 5, target_per_worker: 2, scale_down_window_ms: 300, max_step_down: 5, scale_to_zero_after_ms: 300 } }),
      },
    });
    const events: { from: number; to: number }[] = [];
    c.master.tasks.events.on('autoscale.decision', (e) => void events.push({ from: e.from, to: e.to }));
    const post = (body: unknown) => fetch(`${c!.httpUrl}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const res = await post({ tasks: Array.from({ length: 7 }, () => ({ kind: 'gpu', input: {} })) });
    expect(res.status).toBe(202); // no worker serves gpu: accepted because the pool scales from zero
    const ids = ((await res.json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    await waitFor(() => svc.Spec.Mode.Replicated?.Replicas === 4, 'Replicas 4 (7 tasks / 2 per worker)', 10_000);
    expect(api.history[0]).toBe(4);
    expect(svc.Spec.TaskTemplate).toEqual({ ContainerSpec: { Image: 'taskwire:test' } }); // the rest of the spec kept
    const metrics = await (await fetch(`${c.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/taskwire_autoscale_desired_workers\{pool="gpu"\} 4/);
    expect(metrics).toMatch(/taskwire_autoscale_changes_total\{pool="gpu",direction="up"\} 1/);
    // The work goes away: down to zero after the window and the idle period.
    for (const id of ids) await fetch(`${c.httpUrl}/api/v1/tasks/${id}/cancel`, { method: 'POST' });
    await waitFor(() => svc.Spec.Mode.Replicated?.Replicas === 0, 'Replicas back to 0', 10_000);
    // One scale-up; then down as the highest recommendation of the window falls (the cancels come one by one).
    expect(events[0]).toEqual({ from: 0, to: 4 });
    expect(events.slice(1).every((e) => e.to < e.from)).toBe(true);
    expect(events.length).toBeLessThanOrEqual(5);
    expect(api.history.at(-1)).toBe(0);
    const status = (await (await fetch(`${c.httpUrl}/api/v1/autoscaling`)).json()) as { pools: { pool: string; actuator: string; current: number; last_error: string | null }[] };
    expect(status.pools).toEqual([expect.objectContaining({ pool: 'gpu', actuator: 'swarm', current: 0, last_error: null })]);
  });

  it('with the default interval, a backlog gets its scale-up decision within 5 s (the bound the issue sets)', async () => {
    const api = new FakeEngineApi();
    const svc = api.addService('w', 1);
    const dockerHost = await api.listen({ port: 0 });
    cleanups.push(() => api.close());
    c = await startCluster({ workers: 0, master: { dockerHost, autoscale: JSON.stringify({ gpu: { actuator: 'swarm', service: 'w', max_workers: 3 } }) } });
    let decidedAt = 0;
    c.master.tasks.events.on('autoscale.decision', (e) => void (decidedAt ||= e.ts));
    await waitFor(() => c!.master.autoscaler.status()[0]?.current === 1, 'the first evaluation');
    const submittedAt = Date.now();
    const res = await fetch(`${c.httpUrl}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tasks: [{ kind: 'gpu', input: {} }, { kind: 'gpu', input: {} }, { kind: 'gpu', input: {} }] }) });
    expect(res.status).toBe(202);
    await waitFor(() => svc.Spec.Mode.Replicated?.Replicas === 3, 'Replicas 3', 10_000);
    expect(decidedAt - submittedAt).toBeLessThan(5000);
  });

  it('an Engine that refuses is reported on the pool and retried, not fatal', async () => {
    const api = new FakeEngineApi();
    api.addService('w', 1);
    const dockerHost = await api.listen({ port: 0 });
    cleanups.push(() => api.close());
    api.forceStatus = 403;
    c = await startCluster({ workers: 0, master: { dockerHost, autoscaleIntervalMs: 50, autoscale: JSON.stringify({ gpu: { actuator: 'swarm', service: 'w' } }) } });
    await waitFor(async () => {
      const s = (await (await fetch(`${c!.httpUrl}/api/v1/autoscaling`)).json()) as { pools: { last_error: string | null }[] };
      return s.pools[0]?.last_error?.includes('403');
    }, 'the refusal on the pool status');
    api.forceStatus = undefined;
    await waitFor(async () => {
      const s = (await (await fetch(`${c!.httpUrl}/api/v1/autoscaling`)).json()) as { pools: { current: number | null }[] };
      return s.pools[0]?.current === 1;
    }, 'recovered once the Engine answers');
  });

  it('a bad TASKWIRE_AUTOSCALE stops the master naming the variable and the field', async () => {
    await expect(startCluster({ workers: 0, master: { autoscale: '{"gpu": {"actuator": "swarm"}}' } })).rejects.toThrow(/TASKWIRE_AUTOSCALE: gpu\.service/);
    await expect(startCluster({ workers: 0, master: { autoscale: 'not json' } })).rejects.toThrow(/TASKWIRE_AUTOSCALE: expected JSON/);
    // `local` needs `taskwire start --autoscale` (a master with no local actuator).
    await expect(startCluster({ workers: 0, master: { autoscale: '{"*": {"actuator": "local"}}' } })).rejects.toThrow(/TASKWIRE_AUTOSCALE: \*: actuator: .*taskwire start --autoscale/);
    await expect(startCluster({ workers: 0, master: { placementSlowStartMs: -5 } })).rejects.toThrow(/TASKWIRE_PLACEMENT_SLOW_START_MS/);
  });
});
