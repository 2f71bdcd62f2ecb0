/**
 * CPU time and memory per attempt (Usage.cpu_us, mem_mib_ms; docs/BILLING.md):
 * - the meter's sharing rule on a scripted process (unit: what each attempt gets);
 * - a real master (SQLite ledger) and a real TypeScript worker over MQTT and
 *   gRPC running CPU-burning tasks, one of them retried: every ledger row has
 *   exactly the cpu_us and mem_mib_ms its attempt's final reported, the
 *   report's totals are their sums, the CSV has them, the cost applies
 *   per_cpu_second and per_gb_second, and the attempts' CPU time covers what
 *   the handlers burned; a bad price is a 400 naming the field;
 * - a usage.db from before the columns (user_version 0) is migrated in place
 *   and keeps its rows (0), still append-only; the billing room on
 *   PostgreSQL goes from schema 1 to 2 keeping its rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultRecorder } from '../../conformance/result-recorder.js';
import { BILLING_PG_STEPS, PostgresUsageStore } from '../../master/billing/postgres-usage-store.js';
import { copyRoomTables, prepareRoomTables } from '../../master/postgres-rooms-migrate.js';
import type { UsageRow } from '../../master/billing/usage-row.js';
import { SqliteUsageStore } from '../../master/billing/usage-store.js';
import { migrateRoom } from '../../master/store/postgres-room-schema.js';
import { AttemptResources } from '../../worker/attempt-resources.js';
import { TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from '../../worker/handlers/task-handler.js';
import type { TaskView } from '../../common/task-view.js';
import { startCluster, waitFor } from '../helpers/cluster.js';
import { postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';

const cpuNowUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** `burn` spins on the CPU for `ms` of the process's CPU time; `fail_first`: attempt 1 then fails (retryable). */
class BurnHandler implements TaskHandler {
  readonly kind = 'burn';
  /** The process CPU time (µs) each attempt's spin took, by task#attempt. */
  readonly burned = new Map<string, number>();
  async run(ctx: TaskContext): Promise<TaskOutput> {
    const input = ctx.input as { ms: number; fail_first?: boolean };
    const from = cpuNowUs();
    let x = 0;
    while (cpuNowUs() - from < input.ms * 1000) for (let i = 0; i < 10_000; i++) x += Math.sqrt(i);
    this.burned.set(`${ctx.taskId}#${ctx.attempt}`, cpuNowUs() - from);
    await new Promise((r) => setTimeout(r, 5));
    if (input.fail_first && ctx.attempt === 1) throw new TaskFailure('PROVIDER_ERROR', 'burnt out', { retryable: true });
    return { output: { ok: x > 0 } };
  }
}

describe('AttemptResources: the process shared among the attempts running', () => {
  it('each span of CPU and RSS x time goes in equal shares to the attempts running in it', () => {
    const p = { cpu: 0, rss: 100 * 2 ** 20, now: 0 };
    const meter = new AttemptResources({ cpuUs: () => p.cpu, rssBytes: () => p.rss, nowMs: () => p.now });
    const a = meter.begin();
    p.cpu += 1000; // a alone: 1000 µs, 100 MiB for 10 ms
    p.now += 10;
    const b = meter.begin();
    p.cpu += 3000; // a and b: 1500 µs each; 200 MiB for 20 ms: 2000 MiB·ms each
    p.rss = 200 * 2 ** 20;
    p.now += 20;
    meter.sample(); // the sweep
    p.cpu += 600; // still both: 300 each, 200 MiB for 10 ms
    p.now += 10;
    expect(meter.end(a)).toEqual({ cpu_us: 1000 + 1500 + 300, mem_mib_ms: 1000 + 2000 + 1000 });
    p.cpu += 500; // b alone
    p.now += 5;
    expect(meter.end(b)).toEqual({ cpu_us: 1500 + 300 + 500, mem_mib_ms: 2000 + 1000 + 1000 });
    expect(meter.size).toBe(0);
    p.cpu += 10_000; // idle: nobody's
    p.now += 100;
    const c = meter.begin();
    expect(meter.end(c)).toEqual({ cpu_us: 0, mem_mib_ms: 0 });
  });
});

describe('usage rows carry the CPU time and memory the worker reported', () => {
  type Cluster = Awaited<ReturnType<typeof startCluster>>;
  let c: Cluster;
  const dir = mkdtempSync(join(tmpdir(), 'tw-usage-resources-'));
  const ADMIN = 'resources-admin-key-0123456789';
  const burn = new BurnHandler();
  const recorder = new ResultRecorder();
  const http = (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { dataDir: dir, apiKeys: [`admin:${ADMIN}`], retryBaseMs: 50, retryMaxMs: 100 } });
    recorder.attach(c.master.intake);
    await c.addWorker({ kinds: ['burn'], capacity: 2 }, { handlers: [burn] });
    await c.waitForWorkers(1);
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bills each attempt its reported cpu_us and mem_mib_ms, priced per CPU second and GB-second; totals are the sums', async () => {
    const bad = await http('/api/v1/admin/prices', { prices: [{ kind: 'burn', per_cpu_second: 1, per_gb_second: 'cheap' }] }, 'PUT');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/prices\.0\.per_gb_second/);
    expect((await http('/api/v1/admin/prices', { prices: [{ kind: 'burn', per_cpu_second: 2, per_gb_second: 0.5 }] }, 'PUT')).status).toBe(200);

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await http('/api/v1/tasks', { kind: 'burn', input: { ms: 30, fail_first: i === 0 }, max_attempts: 2 });
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { id: string }).id);
    }
    for (const id of ids) {
      const v = await waitFor(async () => {
        const t = (await (await http(`/api/v1/tasks/${id}`)).json()) as TaskView;
        return ['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status) && t;
      }, `task ${id} done`, 60_000);
      expect(v.status).toBe('succeeded');
    }
    const rows = await waitFor(async () => {
      const all = (await c.master.billing.store.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).filter((r) => ids.includes(r.task_id));
      return all.length === 6 && all;
    }, 'six ledger rows');
    expect(rows.filter((r) => r.outcome === 'retried').map((r) => [r.task_id, r.attempt])).toEqual([[ids[0], 1]]);

    let reportedCpu = 0;
    let reportedMem = 0;
    let burned = 0;
    for (const row of rows) {
      const fin = recorder.of(row.task_id, row.attempt).find((e) => e.kind === 'final')?.final;
      expect(fin, `the final of ${row.task_id}#${row.attempt}`).toBeDefined();
      const cpu = Number(fin!.usage?.cpu_us);
      const mem = Number(fin!.usage?.mem_mib_ms);
      expect(cpu).toBeGreaterThan(0);
      expect(mem).toBeGreaterThan(0);
      expect([row.cpu_us, row.mem_mib_ms]).toEqual([cpu, mem]);
      expect(row.cost).toBeCloseTo((cpu / 1e6) * 2 + (mem / 1024 / 1000) * 0.5, 12);
      reportedCpu += cpu;
      reportedMem += mem;
      burned += burn.burned.get(`${row.task_id}#${row.attempt}`) ?? Number.NaN;
    }
    // The attempts share the process's CPU time while they run, which holds every spin of the handlers.
    expect(reportedCpu).toBeGreaterThanOrEqual(burned - rows.length);

    type Report = { totals: { attempts: number; cpu_us: number; mem_mib_ms: number; cost: number } };
    const report = (await (await http('/api/v1/usage?period=day')).json()) as Report;
    expect(report.totals).toMatchObject({ attempts: 6, cpu_us: reportedCpu, mem_mib_ms: reportedMem });
    const csv = (await (await http('/api/v1/usage?period=day&format=csv')).text()).trim().split('\n');
    const head = csv[0]!.split(',');
    const burnLine = csv.find((l) => l.includes(',burn,'))!.split(',');
    expect([Number(burnLine[head.indexOf('cpu_us')]), Number(burnLine[head.indexOf('mem_mib_ms')])]).toEqual([reportedCpu, reportedMem]);
  }, 120_000);
});

/** usage.db as the first version wrote it (user_version 0, no cpu_us / mem_mib_ms). */
function oldUsageDb(path: string): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE usage (
      task_id TEXT NOT NULL, attempt INTEGER NOT NULL, tenant TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
      model TEXT, worker_id TEXT, outcome TEXT NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
      processing_ms INTEGER NOT NULL, images INTEGER NOT NULL, megapixels REAL NOT NULL, bytes_in INTEGER NOT NULL,
      bytes_out INTEGER NOT NULL, at_ms INTEGER NOT NULL, cost REAL NOT NULL, price_version INTEGER NOT NULL,
      PRIMARY KEY (task_id, attempt)) WITHOUT ROWID;
    CREATE TRIGGER usage_no_update BEFORE UPDATE ON usage BEGIN SELECT RAISE(ABORT, 'the usage ledger is append-only'); END;
    CREATE TRIGGER usage_no_delete BEFORE DELETE ON usage BEGIN SELECT RAISE(ABORT, 'the usage ledger is append-only'); END;
    CREATE TABLE prices (version INTEGER PRIMARY KEY, effective_from_ms INTEGER NOT NULL, json TEXT NOT NULL);
    CREATE TABLE settings (name TEXT PRIMARY KEY, json TEXT NOT NULL);
  `);
  const ins = db.prepare('INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (let i = 1; i <= 3; i++) ins.run(`old-${i}`, 1, 'acme', 'k', 'llm', 'm', 'w', 'succeeded', 10 * i, 20 * i, 100, 0, 0, 5, 6, 1000 + i, 0.5, 1);
  db.close();
}

const newRow = (task: string, cpu: number, mem: number): UsageRow => ({
  task_id: task, attempt: 1, tenant: 'acme', key: 'k', kind: 'burn', model: null, worker_id: 'w', outcome: 'succeeded', tokens_in: 0, tokens_out: 0,
  processing_ms: 40, cpu_us: cpu, mem_mib_ms: mem, images: 0, megapixels: 0, bytes_in: 1, bytes_out: 2, at_ms: 2000, cost: 0, price_version: 0,
});

describe('the ledger from before the CPU and memory columns', () => {
  it('SQLite: an old usage.db is migrated in place (user_version 1), its rows kept with 0, still append-only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-usage-migrate-'));
    try {
      const path = join(dir, 'usage.db');
      oldUsageDb(path);
      const store = new SqliteUsageStore(path);
      store.insert(newRow('new-1', 12_345, 678));
      const rows = await store.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
      expect(rows.map((r) => [r.task_id, r.tokens_in, r.cpu_us, r.mem_mib_ms])).toEqual([
        ['old-1', 10, 0, 0],
        ['old-2', 20, 0, 0],
        ['old-3', 30, 0, 0],
        ['new-1', 0, 12_345, 678],
      ]);
      await store.close();
      const db = new Database(path);
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      expect(() => db.prepare("UPDATE usage SET cpu_us = 1 WHERE task_id = 'old-1'").run()).toThrow(/append-only/);
      db.pragma('user_version = 9');
      db.close();
      expect(() => new SqliteUsageStore(path)).toThrow(/newer taskwire \(schema 9/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const available = postgresAvailable();
  describe.skipIf(!available)(`PostgreSQL${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
    const { server, pool } = postgresRoomsFixture();

    it('the billing room goes from schema 1 to 2: rows kept with 0, new rows with their values', async () => {
      const p = pool(await server().createDatabase());
      await migrateRoom(p, 'billing', BILLING_PG_STEPS.slice(0, 1));
      await p.query(
        `INSERT INTO tw_usage (task_id, attempt, tenant, key, kind, model, worker_id, outcome, tokens_in, tokens_out, processing_ms, images, megapixels, bytes_in, bytes_out, at_ms, cost, price_version)
         VALUES ('old-1', 1, 'acme', 'k', 'llm', 'm', 'w', 'succeeded', 7, 9, 100, 0, 0, 5, 6, 1000, 0.5, 1)`,
      );
      const store = await PostgresUsageStore.open(p);
      expect((await p.query<{ version: number }>("SELECT version FROM taskwire_room_schema WHERE room = 'billing'")).rows[0]!.version).toBe(2);
      store.insert(newRow('new-1', 4242, 99));
      const rows = await store.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
      expect(rows.map((r) => [r.task_id, r.tokens_in, r.cpu_us, r.mem_mib_ms])).toEqual([
        ['old-1', 7, 0, 0],
        ['new-1', 0, 4242, 99],
      ]);
      await expect(p.query("UPDATE tw_usage SET cpu_us = 1 WHERE task_id = 'old-1'")).rejects.toThrow(/append-only/);
      store.close();
      await store.drain();
    }, 60_000);

    it('store migrate copies an old usage.db (before the columns, opened read-only) with 0 in them', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tw-usage-copy-'));
      try {
        oldUsageDb(join(dir, 'usage.db'));
        const p = pool(await server().createDatabase());
        const client = await p.connect();
        try {
          await prepareRoomTables(client);
          await client.query('BEGIN');
          expect((await copyRoomTables(client, dir)).usage_rows).toBe(3);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        const rows = (await p.query<UsageRow>('SELECT task_id, tokens_in, cpu_us, mem_mib_ms FROM tw_usage ORDER BY task_id')).rows;
        expect(rows.map((r) => [r.task_id, r.tokens_in, r.cpu_us, r.mem_mib_ms])).toEqual([
          ['old-1', 10, 0, 0],
          ['old-2', 20, 0, 0],
          ['old-3', 30, 0, 0],
        ]);
        const source = new Database(join(dir, 'usage.db'), { readonly: true });
        expect(source.pragma('user_version', { simple: true })).toBe(0); // the source is left as it was
        source.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
});
