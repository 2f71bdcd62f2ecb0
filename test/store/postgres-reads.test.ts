/**
 * Reads of finished tasks a master on PostgreSQL no longer holds in memory
 * (evicted from its cache by payload bytes, or from before a restart): the
 * surfaces read them back from the database first (`TaskStore.preload`).
 * GET /api/v1/tasks/:id, a submit repeating an idempotency key, and a
 * browser session resuming all see them.
 */
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { uniqueId, waitForTask } from '../helpers/cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { tempDir } from '../fault/fault-cluster.js';

const available = postgresAvailable();
const log = { logger: silentLogger() };
const MiB = 1024 * 1024;

describe.skipIf(!available)(`master on PostgreSQL: finished tasks not in memory${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  const tmp = tempDir('taskwire-pg-reads-');
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    tmp.remove();
  });

  it('GET by id, a repeated idempotency key and a resuming session read them from the database, also after a restart', async () => {
    const url = await server.createDatabase();
    const start = () =>
      Master.create(
        { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, masterId: uniqueId('m'), store: url, cacheMaxBytes: MiB },
        { logger: log },
      );
    let m = await start();
    const w = await Worker.create(
      { workerId: uniqueId('w'), mqttUrl: m.mqttUrl, mqttPassword: m.clusterToken, logToStdout: false, healthFile: join(tmp.dir, 'w.health') },
      { logger: log },
    );
    const sockets: Socket[] = [];
    try {
      const http = `http://127.0.0.1:${m.httpPort}`;
      const post = (body: unknown) => fetch(`${http}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const s1 = io(http, { transports: ['websocket'] }) as Socket<ServerToClientEvents, ClientToServerEvents>;
      sockets.push(s1);
      const sessionId = await new Promise<string>((r) => s1.once('session', (info) => r(info.session_id)));
      const ack = await s1.emitWithAck('task:submit', { kind: 'echo', input: { text: 'from the session' } });
      if (!ack.ok) throw new Error(ack.error.message);
      s1.disconnect();
      const keyed = (await (await post({ kind: 'echo', input: { text: 'keyed' }, idempotency_key: 'pg-key-1' })).json()) as TaskView;
      await waitForTask(http, ack.data.id);
      await waitForTask(http, keyed.id);
      // Push both out of the finished-task cache (1 MiB of payloads): big inputs, each ~600 KB as counted.
      for (let i = 0; i < 4; i++) {
        const big = (await (await post({ kind: 'echo', input: { text: String(i).repeat(300_000) } })).json()) as TaskView;
        await waitForTask(http, big.id);
      }
      expect(m.tasks.store.get(ack.data.id)).toBeUndefined(); // not in memory any more
      expect(m.tasks.store.get(keyed.id)).toBeUndefined();

      const check = async (base: string) => {
        const got = (await (await fetch(`${base}/api/v1/tasks/${keyed.id}`)).json()) as TaskView;
        expect([got.status, got.result]).toEqual(['succeeded', { text: 'keyed' }]);
        const dup = await fetch(`${base}/api/v1/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'echo', input: { text: 'other' }, idempotency_key: 'pg-key-1' }),
        });
        expect(dup.status).toBe(200);
        expect(((await dup.json()) as TaskView).id).toBe(keyed.id);
        expect((await fetch(`${base}/api/v1/tasks/no-such-task`)).status).toBe(404);
      };
      await check(http);
      // The session comes back: its evicted answer is read from the database.
      const s2 = io(http, { auth: { sessionId }, transports: ['websocket'] }) as Socket<ServerToClientEvents, ClientToServerEvents>;
      sockets.push(s2);
      const done = await new Promise<TaskView>((resolve) => s2.on('task:done', (t) => t.id === ack.data.id && resolve(t)));
      expect(done.result).toEqual({ text: 'from the session' });

      await m.close();
      m = await start();
      await check(`http://127.0.0.1:${m.httpPort}`);
    } finally {
      for (const s of sockets) s.disconnect();
      await w.close(0);
      await m.close();
    }
  }, 90_000);
});
