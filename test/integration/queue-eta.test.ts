/**
 * Queue position, ETA and deadline admission through a real master and a
 * real capacity-1 worker (aedes, gRPC, HTTP on port 0).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { runTask, startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';

const RUN_MS = 400;

async function post(c: TestCluster, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function get(c: TestCluster, id: string): Promise<any> {
  return (await fetch(`${c.httpUrl}/api/v1/tasks/${id}`)).json();
}

describe('queue position, eta_ms and deadline admission on a real cluster', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('queued tasks report increasing positions and sane ETAs; a deadline shorter than the wait gets 429, one with slack runs', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    await c.waitForWorkers(1);
    // Warm the estimator: two finished sleeps of RUN_MS.
    for (let i = 0; i < 2; i++) expect((await runTask(c.httpUrl, { kind: 'sleep', input: { ms: RUN_MS } })).status).toBe('succeeded');

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await post(c, { kind: 'sleep', input: { ms: RUN_MS } });
      expect(r.status).toBe(202);
      ids.push(r.json.id);
    }
    await waitFor(async () => (await get(c!, ids[0]!)).status !== 'queued', 'the first one to leave the queue');
    const views = await Promise.all(ids.slice(1).map((id) => get(c!, id)));
    const queued = views.filter((v) => v.status === 'queued');
    expect(queued.length).toBeGreaterThanOrEqual(3); // each runs RUN_MS on the one slot
    const positions = queued.map((v) => v.queue_position);
    expect(positions).toEqual(positions.map((_, i) => positions[0] + i));
    const etas = queued.map((v) => v.eta_ms as number);
    for (let i = 1; i < etas.length; i++) expect(etas[i]!).toBeGreaterThan(etas[i - 1]!);
    queued.forEach((v, i) => {
      // behind p tasks of RUN_MS on one slot: between p and p + 1 run times (the running one's rest)
      expect(v.eta_ms).toBeGreaterThanOrEqual(v.queue_position * RUN_MS * 0.5);
      expect(v.eta_ms).toBeLessThanOrEqual((v.queue_position + 1) * RUN_MS * 2 + 500);
      expect(i === 0 || v.queue_position > queued[i - 1].queue_position).toBe(true);
    });
    // A finished or running task shows no position.
    const first = await get(c, ids[0]!);
    expect(first.queue_position).toBeUndefined();

    // A deadline the queue cannot meet: refused now, naming the estimated wait.
    const late = await post(c, { kind: 'sleep', input: { ms: RUN_MS }, deadline_ms: 50 });
    expect(late.status).toBe(429);
    expect(late.json.error.code).toBe('DEADLINE_UNREACHABLE');
    expect(late.json.error.message).toMatch(/estimated wait \d+ ms > deadline 50 ms/);
    const wait = Number(/estimated wait (\d+)/.exec(late.json.error.message)![1]);
    expect(wait).toBeGreaterThan(50);
    // An absolute deadline in the past is a bad request; both forms at once too.
    expect((await post(c, { kind: 'sleep', input: { ms: 1 }, deadline_at: new Date(Date.now() - 1000).toISOString() })).status).toBe(400);
    expect((await post(c, { kind: 'sleep', input: { ms: 1 }, deadline_ms: 1000, deadline_at: new Date(Date.now() + 60_000).toISOString() })).status).toBe(400);

    // With slack: admitted, runs, and its queue timeout is the deadline.
    const ok = await post(c, { kind: 'sleep', input: { ms: 10 }, deadline_at: new Date(Date.now() + 60_000).toISOString() });
    expect(ok.status).toBe(202);
    expect((await waitForTask(c.httpUrl, ok.json.id, 20_000)).status).toBe('succeeded');
    for (const id of ids) expect((await waitForTask(c.httpUrl, id, 20_000)).status).toBe('succeeded');
  }, 30_000);

  it('the chat session gets task:update with queue_position and eta_ms as the queue moves', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    await c.waitForWorkers(1);
    const socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    try {
      await new Promise((resolve, reject) => {
        socket.once('session', resolve);
        socket.once('connect_error', reject);
      });
      const updates: (TaskView & { queue_position?: number; eta_ms?: number | null })[] = [];
      socket.on('task:update', (t) => updates.push(t));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const ack = await new Promise<any>((resolve) => socket.emit('task:submit', { kind: 'sleep', input: { ms: 700 } }, resolve));
        expect(ack.ok).toBe(true);
        ids.push(ack.data.id);
      }
      const last = ids.at(-1)!;
      const mine = () => updates.filter((u) => u.id === last && u.queue_position !== undefined);
      await waitFor(() => mine().length >= 2, 'two queue updates of the last task', 10_000);
      const seen = mine().map((u) => u.queue_position!);
      for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeLessThan(seen[i - 1]!);
      expect(mine().every((u) => u.status === 'queued' && typeof u.eta_ms === 'number')).toBe(true);
      for (const id of ids) expect((await waitForTask(c.httpUrl, id, 20_000)).status).toBe('succeeded');
    } finally {
      socket.close();
    }
  }, 30_000);
});
