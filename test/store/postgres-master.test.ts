/**
 * A master on PostgreSQL (TASKWIRE_STORE) with real workers and a real
 * PostgreSQL server: (1) `kill -9` of the master process mid-run, then a new
 * master process on the same database (a fresh data dir: the tasks come from
 * PostgreSQL) restores the unfinished tasks and every accepted task
 * succeeds; (2) PostgreSQL restarted mid-run: submits during the outage get
 * 503 (never a 2xx for something not committed), the master reconnects by
 * itself, and every accepted task is in the database and succeeds.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { uniqueId } from '../helpers/cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { assertCliBuilt, parseJsonLine } from '../helpers/processes.js';
import {
  faultFixture,
  FAST_LEASES,
  postTask,
  settleTasks,
  sleep,
  spawnWorker,
  startMasterProcess,
  until,
  waitForWorkersOnline,
  workerReady,
} from '../fault/fault-cluster.js';

const available = postgresAvailable();

async function dbRows(url: string): Promise<Map<string, string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ id: string; status: string }>('SELECT id, status FROM tasks');
    return new Map(r.rows.map((x) => [x.id, x.status]));
  } finally {
    await c.end();
  }
}

describe.skipIf(!available)(`master on PostgreSQL${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  const { group, tmp } = faultFixture('taskwire-pg-master-', { after: () => server?.close() });

  it('kill -9 of the master mid-run: a new master on the same database restores the unfinished tasks; 0 accepted tasks lost', async () => {
    assertCliBuilt();
    const url = await server.createDatabase();
    const env = { ...FAST_LEASES, TASKWIRE_STORE: url };
    let master = await startMasterProcess(group, { name: 'pg-master#1', dataDir: join(tmp.dir, 'a'), env });
    const ports = { httpPort: master.httpPort, grpcPort: master.grpcPort, mqttPort: Number(new URL(master.mqttUrl).port) };
    // The cluster token lives in the database: `taskwire token --store`.
    const tokenCmd = group.taskwire('token', ['token', '--store', url]);
    expect((await tokenCmd.waitForExit(30_000)).code, tokenCmd.output()).toBe(0);
    const token = tokenCmd.lines.find((l) => l.stream === 'stdout' && l.text.trim())?.text.trim() ?? '';
    expect(token.length).toBeGreaterThan(16);
    const ids = ['pgw-0', 'pgw-1'];
    const workers = ids.map((id) => spawnWorker(group, { id, mqttUrl: master.mqttUrl, clusterToken: token, capacity: 4, dir: tmp.dir }));
    await Promise.all(workers.map((w) => workerReady(w)));
    await waitForWorkersOnline(master.httpUrl, ids);

    const accepted: string[] = [];
    for (let i = 0; i < 120; i++) {
      const t = await postTask(master.httpUrl, { kind: 'sleep', input: { ms: 100 + (i % 7) * 100 } });
      if (t) accepted.push(t.id);
    }
    expect(accepted.length).toBe(120);
    master.proc.signal('SIGKILL'); // most of them are still queued or running
    await master.proc.waitForExit(10_000);

    master = await startMasterProcess(group, { name: 'pg-master#2', dataDir: join(tmp.dir, 'b'), ...ports, env });
    const restored = master.proc.matching(/restored unfinished tasks from the store/);
    expect(restored.length, master.proc.output()).toBe(1);
    const counts = parseJsonLine(restored[0]!.text) as { queued: number; inFlight: number };
    expect(counts.queued + counts.inFlight).toBeGreaterThan(0);
    for (let i = 0; i < 30; i++) {
      const t = await postTask(master.httpUrl, { kind: 'echo', input: { text: `after ${i}` } });
      if (t) accepted.push(t.id);
    }
    expect(accepted.length).toBe(150);
    const views = await settleTasks(master.httpUrl, accepted, 90_000);
    const notSucceeded = accepted.filter((id) => views.get(id)?.status !== 'succeeded').map((id) => `${id}: ${views.get(id)?.status ?? 'missing'}`);
    expect(notSucceeded).toEqual([]);
    const rows = await dbRows(url);
    expect(accepted.filter((id) => rows.get(id) !== 'succeeded')).toEqual([]);
  }, 180_000);

  it('PostgreSQL restarted mid-run: submits during the outage get 503, the master reconnects by itself, 0 accepted tasks lost', async () => {
    const url = await server.createDatabase();
    const log = { logger: silentLogger() };
    const master = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, masterId: uniqueId('m'), store: url, retryBaseMs: 50 },
      { logger: log },
    );
    const worker = await Worker.create(
      { workerId: uniqueId('w'), mqttUrl: master.mqttUrl, mqttPassword: master.clusterToken, logToStdout: false, capacity: 8, healthFile: join(tmp.dir, 'pg-w.health') },
      { logger: log },
    );
    try {
      const http = `http://127.0.0.1:${master.httpPort}`;
      await until(async () => (await fetch(`${http}/api/v1/workers`).then((r) => r.json()) as { workers: unknown[] }).workers.length > 0, 'the worker', 15_000);
      const accepted: string[] = [];
      const statuses = new Map<number, number>();
      let submitting = true;
      const submitter = (async () => {
        for (let i = 0; submitting; i++) {
          const res = await fetch(`${http}/api/v1/tasks`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ kind: 'sleep', input: { ms: 20 + (i % 5) * 20 } }),
            signal: AbortSignal.timeout(20_000),
          }).catch(() => undefined);
          const code = res?.status ?? 0;
          statuses.set(code, (statuses.get(code) ?? 0) + 1);
          if (res && res.status >= 200 && res.status < 300) accepted.push(((await res.json()) as TaskView).id);
          else await res?.body?.cancel();
          if (code !== 202) await sleep(50);
        }
      })();
      await until(() => accepted.length >= 100, '100 accepted tasks', 30_000);
      await server.stop();
      const health = async () => (await fetch(`${http}/healthz`).catch(() => undefined))?.status;
      await until(async () => (await health()) === 503, '/healthz 503 while PostgreSQL is down', 15_000);
      const refusedBefore = statuses.get(503) ?? 0;
      await sleep(1500);
      expect((statuses.get(503) ?? 0) - refusedBefore).toBeGreaterThan(0);
      await server.restart();
      await until(async () => (await health()) === 200, 'the master to reconnect', 20_000);
      const n = accepted.length;
      await until(() => accepted.length >= n + 50, '50 more accepted tasks after the outage', 30_000);
      submitting = false;
      await submitter;
      expect([...statuses.keys()].filter((c) => c !== 202 && c !== 503), JSON.stringify([...statuses])).toEqual([]);
      const views = await settleTasks(http, accepted, 60_000);
      const open = accepted.filter((id) => !TERMINAL_STATUSES.has(views.get(id)?.status ?? 'queued'));
      expect(open).toEqual([]);
      expect(accepted.filter((id) => views.get(id)?.status !== 'succeeded')).toEqual([]);
      await until(async () => {
        const rows = await dbRows(url);
        return accepted.every((id) => rows.get(id) === 'succeeded');
      }, 'every accepted task succeeded in the database', 10_000);
    } finally {
      await worker.close(0);
      await master.close();
    }
  }, 120_000);
});
