/**
 * Queue positions of pooled tasks (TASKWIRE_MASTERS=multi, a real master in
 * process on a real PostgreSQL and Mosquitto, a real capacity-1 worker): a
 * browser's task this master had no free slot for goes to the shared pool,
 * in no master's queue; the chat still gets `task:update` with its
 * `queue_position` (master/store/pool-standings.ts), and so does
 * GET /api/v1/tasks/:id; a higher-priority task
 * submitted over REST moves it back one place, and each runs once a slot frees.
 */
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { silentLogger } from '../../common/logger.js';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { uniqueId, waitFor, waitForTask } from '../helpers/cluster.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';

const available = postgresAvailable() && mosquittoAvailable();
type Update = TaskView & { queue_position?: number; eta_ms?: number | null };

describe.skipIf(!available)(`queue positions of pooled tasks${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres;
  let broker: Mosquitto;
  beforeAll(async () => {
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.close(), broker?.close()]);
  });

  it('a pooled chat task gets its queue position, moved by a higher priority, and runs', { timeout: 90_000 }, async () => {
    const url = await server.createDatabase();
    const topicRoot = uniqueId('tw');
    const master = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi', masterId: uniqueId('m'), mqttUrl: broker.url, topicRoot },
      { logger: { logger: silentLogger() } },
    );
    let worker: Worker | undefined;
    let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
    try {
      const base = `http://127.0.0.1:${master.httpPort}`;
      worker = await Worker.create({ workerId: uniqueId('w'), mqttUrl: broker.url, topicRoot, logToStdout: false, capacity: 1 }, { logger: { logger: silentLogger() } });
      const post = async (body: unknown) => {
        const res = await fetch(`${base}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      };
      await waitFor(async () => ((await (await fetch(`${base}/api/v1/workers`)).json()) as { workers: { state: string }[] }).workers.some((w) => w.state === 'online'), 'the worker online');
      // The one slot is taken for a while: every task after it is pooled (no free slot here).
      const blocker = await post({ kind: 'sleep', input: { ms: 4000 } });
      await waitFor(async () => ((await (await fetch(`${base}/api/v1/tasks/${blocker}`)).json()) as TaskView).status === 'running', 'the blocker running');

      socket = io(base, { transports: ['websocket'], reconnection: false });
      await new Promise((resolve, reject) => {
        socket!.once('session', resolve);
        socket!.once('connect_error', reject);
      });
      const updates: Update[] = [];
      socket.on('task:update', (t) => updates.push(t));
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const ack = await new Promise<any>((resolve) => socket!.emit('task:submit', { kind: 'sleep', input: { ms: 50 } }, resolve));
        expect(ack.ok).toBe(true);
        ids.push(ack.data.id);
      }
      // They are in the pool, in no master's queue.
      const owners = await queryRows<{ id: string; owner: string | null }>(url, 'SELECT id, owner FROM tasks WHERE id = ANY($1::text[])', [ids]);
      expect(owners.map((r) => r.owner)).toEqual([null, null, null]);
      const last = (id: string) => updates.filter((u) => u.id === id && u.queue_position !== undefined).at(-1);
      const positions = () => ids.map((id) => last(id)?.queue_position);
      await waitFor(() => positions().join() === '0,1,2', `positions 0, 1, 2 (got ${positions().join()})`, 10_000);
      expect(ids.every((id) => last(id)!.status === 'queued' && last(id)!.eta_ms === null)).toBe(true);
      // REST reads of the task say the same.
      const rest = async (id: string) => (await (await fetch(`${base}/api/v1/tasks/${id}`)).json()) as Update;
      expect((await Promise.all(ids.map(rest))).map((t) => [t.status, t.queue_position, t.eta_ms])).toEqual([
        ['queued', 0, null],
        ['queued', 1, null],
        ['queued', 2, null],
      ]);

      // A priority-5 task submitted over REST goes before them all.
      await post({ kind: 'sleep', input: { ms: 50 }, priority: 5 });
      await waitFor(() => positions().join() === '1,2,3', `positions 1, 2, 3 (got ${positions().join()})`, 10_000);
      expect((await rest(ids[2]!)).queue_position).toBe(3);

      // The slot frees: each is claimed and runs, the chat sees it leave the queue and finish.
      for (const id of ids) expect((await waitForTask(base, id, 30_000)).status).toBe('succeeded');
      for (const id of ids) expect(updates.some((u) => u.id === id && u.status !== 'queued')).toBe(true);
      expect(master.cluster?.standings.stats.refreshes).toBeGreaterThan(0);
    } finally {
      socket?.close();
      await worker?.close();
      await master.close();
    }
  });
});
