/**
 * Placement through the real master and real workers (aedes, gRPC, HTTP on
 * port 0): each strategy distributes as it claims, per kind, and an operator
 * can change it at run time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../common/task-view.js';
import { runTask, startCluster, type TestCluster } from '../helpers/cluster.js';

async function shares(c: TestCluster, n: number, body: (i: number) => unknown): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const t: TaskView = await runTask(c.httpUrl, body(i));
    expect(t.status).toBe('succeeded');
    counts.set(t.worker_id!, (counts.get(t.worker_id!) ?? 0) + 1);
  }
  return counts;
}

describe('placement strategies on a real cluster', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('weighted splits 3:1 by the weight label; round-robin set at run time for one kind splits evenly', async () => {
    c = await startCluster({ workers: 0, master: { placement: 'echo=weighted,default=least-loaded' } });
    const heavy = await c.addWorker({ labels: { weight: '3' } });
    const light = await c.addWorker({ labels: { weight: '1' } });
    await c.waitForWorkers(2);
    const w = await shares(c, 40, (i) => ({ kind: 'echo', input: { text: `w${i}` } }));
    expect(w.get(heavy.id)).toBe(30);
    expect(w.get(light.id)).toBe(10);
    expect(c.master.placement.set('echo', 'round-robin')).toBe('weighted');
    expect(c.master.placement.config).toEqual({ echo: 'round-robin', default: 'least-loaded' });
    const rr = await shares(c, 40, (i) => ({ kind: 'echo', input: { text: `r${i}` } }));
    expect(rr.get(heavy.id)).toBe(20);
    expect(rr.get(light.id)).toBe(20);
  });

  it('a bad TASKWIRE_PLACEMENT names the variable and the known strategies', async () => {
    await expect(startCluster({ workers: 0, master: { placement: 'echo=fastest' } })).rejects.toThrow(/TASKWIRE_PLACEMENT.*fastest.*known: .*p2c/);
  });
});
