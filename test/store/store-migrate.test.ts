/**
 * `taskwire store migrate` (SQLite -> PostgreSQL) with a real PostgreSQL and
 * real masters: a master on SQLite runs tasks (finished ones, one with an
 * idempotency key) and leaves some queued; after the migration a master on
 * PostgreSQL (a fresh data dir) restores the queued ones, serves the
 * finished ones by id and by idempotency key, keeps the cluster token (a
 * worker joins with the old one and runs the restored tasks) and the
 * result-token key (a task running when the SQLite master stopped finishes
 * on the PostgreSQL master with its first attempt: the worker's token still
 * verifies; without the key it would run again). Repeating the migration is safe; another cluster's
 * database is refused without --force; a database a master runs on is
 * refused. The CLI (dist) prints the counts.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { TaskView } from '../../common/task-view.js';
import { Master } from '../../master/master.js';
import { migrateStore } from '../../master/store/store-migrate.js';
import { Worker } from '../../worker/worker.js';
import { uniqueId, waitForTask } from '../helpers/cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { assertCliBuilt, REPO_ROOT, TASKWIRE_CLI } from '../helpers/processes.js';
import { tempDir } from '../fault/fault-cluster.js';

const available = postgresAvailable();
const log = { logger: silentLogger() };
const run = promisify(execFile);

async function pgQuery<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!available)(`taskwire store migrate${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  const tmp = tempDir('taskwire-store-migrate-');
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    tmp.remove();
  });

  const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false } as const;
  const post = async (http: string, body: unknown) =>
    fetch(`${http}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('a master on PostgreSQL carries on from the SQLite master: unfinished restored and run, finished served, same cluster token', async () => {
    const dataA = join(tmp.dir, 'sqlite-master');
    const a = await Master.create({ ...common, masterId: uniqueId('ma'), dataDir: dataA }, { logger: log });
    const tokenA = a.clusterToken!;
    const httpA = `http://127.0.0.1:${a.httpPort}`;
    let w = await Worker.create(
      { workerId: uniqueId('w'), mqttUrl: a.mqttUrl, mqttPassword: tokenA, logToStdout: false, healthFile: join(tmp.dir, 'w1.health') },
      { logger: log },
    );
    const finished: TaskView[] = [];
    const queued: string[] = [];
    let keyedId = '';
    try {
      for (let i = 0; i < 4; i++) {
        const body = i === 0 ? { kind: 'echo', input: { text: 'keyed' }, idempotency_key: 'migrate-key-1' } : { kind: 'echo', input: { text: `done ${i}` } };
        const t = (await (await post(httpA, body)).json()) as TaskView;
        if (i === 0) keyedId = t.id;
        finished.push(await waitForTask(httpA, t.id));
      }
      expect(finished.map((t) => t.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      await w.close(0);
      for (let i = 0; i < 3; i++) {
        const res = await post(httpA, { kind: 'echo', input: { text: `queued ${i}` } });
        expect(res.status).toBe(202);
        queued.push(((await res.json()) as TaskView).id);
      }
    } finally {
      await w.close(0);
      await a.close();
    }
    const sqlite = new Database(join(dataA, 'taskwire.db'), { readonly: true });
    const secretA = (sqlite.prepare("SELECT value FROM meta WHERE key = 'result_secret'").get() as { value: string }).value;
    sqlite.close();

    const url = await server.createDatabase();
    const r = await migrateStore({ from: dataA, to: url });
    expect(r).toMatchObject({ tasks: 7, unfinished: 3, finished: 4, withIdempotencyKey: 1, targetTasksBefore: 0, repeated: false });
    expect(r.metaKeys.sort()).toEqual(['cluster_token', 'result_secret']);
    // The result-token key came along: tokens handed out by the SQLite master still verify.
    expect((await pgQuery<{ value: string }>(url, "SELECT value FROM meta WHERE key = 'result_secret'"))[0]?.value).toBe(secretA);

    const b = await Master.create({ ...common, masterId: uniqueId('mb'), dataDir: join(tmp.dir, 'pg-master'), store: url }, { logger: log });
    const httpB = `http://127.0.0.1:${b.httpPort}`;
    try {
      expect(b.clusterToken).toBe(tokenA);
      for (const t of finished) {
        const got = (await (await fetch(`${httpB}/api/v1/tasks/${t.id}`)).json()) as TaskView;
        expect([got.status, got.result]).toEqual(['succeeded', t.result]);
      }
      const dup = await post(httpB, { kind: 'echo', input: { text: 'other' }, idempotency_key: 'migrate-key-1' });
      expect(dup.status).toBe(200);
      expect(((await dup.json()) as TaskView).id).toBe(keyedId);
      for (const id of queued) expect(((await (await fetch(`${httpB}/api/v1/tasks/${id}`)).json()) as TaskView).status).toBe('queued');

      // The old cluster token still lets a worker join; it runs the restored tasks.
      w = await Worker.create(
        { workerId: uniqueId('w'), mqttUrl: b.mqttUrl, mqttPassword: tokenA, logToStdout: false, healthFile: join(tmp.dir, 'w2.health') },
        { logger: log },
      );
      for (const [i, id] of queued.entries()) {
        const t = await waitForTask(httpB, id, 20_000);
        expect([t.status, t.result]).toEqual(['succeeded', { text: `queued ${i}` }]);
      }
      // While a master runs on the database, migrating into it is refused (its one-master lock).
      await expect(migrateStore({ from: dataA, to: url })).rejects.toThrow(/a taskwire master is running on/);
    } finally {
      await w.close(0);
      await b.close();
    }

    // Repeated: the target already holds this cluster; brought up to date, nothing duplicated.
    const again = await migrateStore({ from: dataA, to: url });
    expect(again).toMatchObject({ tasks: 7, repeated: true, targetTasksBefore: 7 });
    expect(Number((await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM tasks'))[0]?.n)).toBe(7);
  }, 120_000);

  it('a task running on a worker when the SQLite master stopped: its result token, issued by that master, is accepted by the master on PostgreSQL (no second attempt)', async () => {
    const data = join(tmp.dir, 'sqlite-inflight');
    const a = await Master.create({ ...common, masterId: uniqueId('ma'), dataDir: data }, { logger: log });
    const ports = { httpPort: a.httpPort, grpcPort: a.grpcPort, mqttPort: Number(new URL(a.mqttUrl).port) };
    const token = a.clusterToken!;
    const w = await Worker.create(
      { workerId: uniqueId('w'), mqttUrl: a.mqttUrl, mqttPassword: token, logToStdout: false, healthFile: join(tmp.dir, 'w3.health') },
      { logger: log },
    );
    let b: Master | undefined;
    try {
      const http = `http://127.0.0.1:${a.httpPort}`;
      const t = (await (await post(http, { kind: 'sleep', input: { ms: 4000 } })).json()) as TaskView;
      let status = '';
      for (let i = 0; i < 400 && status !== 'running'; i++) {
        status = ((await (await fetch(`${http}/api/v1/tasks/${t.id}`)).json()) as TaskView).status;
        if (status !== 'running') await new Promise((r) => setTimeout(r, 25));
      }
      expect(status).toBe('running');
      await a.close(); // the worker keeps running it, holding the token the SQLite master signed
      const url = await server.createDatabase();
      expect(await migrateStore({ from: data, to: url })).toMatchObject({ tasks: 1, unfinished: 1 });
      b = await Master.create({ ...common, ...ports, masterId: uniqueId('mb'), dataDir: join(tmp.dir, 'pg-inflight'), store: url }, { logger: log });
      const done = await waitForTask(http, t.id, 45_000);
      expect([done.status, done.attempt]).toEqual(['succeeded', 1]);
    } finally {
      await w.close(0);
      await b?.close();
      await a.close();
    }
  }, 90_000);

  it('--force into a database holding the same idempotency key under another id: refused, nothing copied', async () => {
    const data = join(tmp.dir, 'sqlite-dup');
    const a = await Master.create({ ...common, masterId: uniqueId('ma'), dataDir: data }, { logger: log });
    try {
      expect((await post(`http://127.0.0.1:${a.httpPort}`, { kind: 'echo', input: { text: 'a' }, idempotency_key: 'dup-key' })).status).toBe(202);
      expect((await post(`http://127.0.0.1:${a.httpPort}`, { kind: 'echo', input: { text: 'b' } })).status).toBe(202);
    } finally {
      await a.close();
    }
    const url = await server.createDatabase();
    const other = await Master.create({ ...common, masterId: uniqueId('mo'), store: url }, { logger: log });
    try {
      expect((await post(`http://127.0.0.1:${other.httpPort}`, { kind: 'echo', input: { text: 'c' }, idempotency_key: 'dup-key' })).status).toBe(202);
    } finally {
      await other.close();
    }
    await expect(migrateStore({ from: data, to: url, force: true })).rejects.toThrow(/same idempotency key as one being copied \(another id\): nothing was copied/);
    expect(Number((await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM tasks'))[0]?.n)).toBe(1);
  }, 60_000);

  it("refuses another cluster's database unless --force; the CLI prints the counts and exits 1 on a refusal, 2 on a bad --to", async () => {
    assertCliBuilt();
    const data = join(tmp.dir, 'sqlite-2');
    const m = await Master.create({ ...common, masterId: uniqueId('m2'), dataDir: data }, { logger: log });
    try {
      expect((await post(`http://127.0.0.1:${m.httpPort}`, { kind: 'echo', input: { text: 'x' } })).status).toBe(202);
    } finally {
      await m.close();
    }
    const url = await server.createDatabase();
    // Another cluster started on it first (its own secrets and a task).
    const other = await Master.create({ ...common, masterId: uniqueId('m3'), store: url }, { logger: log });
    try {
      expect((await post(`http://127.0.0.1:${other.httpPort}`, { kind: 'echo', input: { text: 'y' } })).status).toBe(202);
    } finally {
      await other.close();
    }
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      run(process.execPath, [TASKWIRE_CLI, 'store', 'migrate', ...args], { cwd: REPO_ROOT, env: { ...process.env, TASKWIRE_STORE: '', TASKWIRE_STORE_FILE: '', ...env } }).then(
        (o) => ({ code: 0, ...o }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const refused = await cli(['--from', data, '--to', url]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/already holds another cluster's data \(1 task\(s\), 2 meta key\(s\)\): use --force/);
    const bad = await cli(['--from', data, '--to', 'mysql://x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--to must be a postgres/);
    const missing = await cli(['--from', join(tmp.dir, 'nowhere'), '--to', url]);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/no such file or directory/)]);

    const file = join(tmp.dir, 'store-url');
    (await import('node:fs')).writeFileSync(file, `${url}\n`);
    const forced = await cli(['--from', data, '--force'], { TASKWIRE_STORE_FILE: file });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^copied 1 task\(s\) from .*taskwire\.db to .*: 1 unfinished, 0 finished, 0 with an idempotency key\nmeta: cluster_token, result_secret\ntarget held 1 task\(s\) before\n$/);
    expect(Number((await pgQuery<{ n: string }>(url, 'SELECT count(*) AS n FROM tasks'))[0]?.n)).toBe(2);
    const json = await cli(['--from', data, '--to', url, '-o', 'json']); // now this cluster: repeated, no --force needed
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ tasks: 1, repeated: true });
  }, 120_000);
});
