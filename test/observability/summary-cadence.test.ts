/**
 * How often a TypeScript worker sends its metrics summary: with the
 * periodic status and the one it publishes on connect, not with the
 * coalesced running-count updates in between (the summary is only rebuilt
 * on the periodic timer, so resending it there is work for nothing on both
 * sides). A real master and worker; the statuses as the master's registry
 * receives them. The master keeps the last summary, so its /metrics still
 * shows the worker's series after statuses without one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import type { Worker } from '../../worker/worker.js';

describe('the worker summary\'s cadence', () => {
  let c: TestCluster;
  let worker: Worker;
  const all: { id: string; withSummary: boolean; running: number }[] = [];
  // The connect status arrives before addWorker resolves: record every worker's, keep this one's.
  const statuses = { get list() { return all.filter((s) => s.id === worker?.id); } };

  beforeAll(async () => {
    c = await startCluster({ workers: 0 });
    const record = (w: { id: string; status: { metrics?: unknown; running: number } }) => {
      all.push({ id: w.id, withSummary: Boolean(w.status.metrics), running: w.status.running });
    };
    c.master.registry.on('online', record as never);
    c.master.registry.on('changed', record as never);
    // A long status interval: every status in this test but the connect one is a coalesced update.
    worker = await c.addWorker({ kinds: ['echo', 'sleep'], metricsSummary: true, statusIntervalMs: 600_000 });
    await c.waitForWorkers(1);
  }, 30_000);

  afterAll(async () => {
    await c?.close();
  });

  it('sends it on connect and leaves it out of the running-count updates', async () => {
    await waitFor(() => statuses.list.some((s) => s.withSummary), 'the connect status with the summary', 10_000);
    const before = statuses.list.length;
    // Running counts change: coalesced status updates follow (250 ms apart at most).
    await Promise.all([runTask(c.httpUrl, { kind: 'sleep', input: { ms: 400 } }), runTask(c.httpUrl, { kind: 'echo', input: { text: 'x' } })]);
    await waitFor(() => statuses.list.length > before && statuses.list[statuses.list.length - 1]!.running === 0, 'a status after the tasks', 10_000, 20);
    const updates = statuses.list.slice(before);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.filter((s) => s.withSummary)).toEqual([]);
    // The master kept the connect status's summary.
    const text = await (await fetch(`${c.httpUrl}/metrics`)).text();
    expect(text).toContain(`taskwire_worker_capacity{worker_id="${worker.id}"}`);
  });
});
