/**
 * Task search on the PostgreSQL store (master/store/postgres-task-search.ts)
 * on a real server: every filter, full-text, time ranges and the tenant
 * scope answer what a scan over all the records answers, page by page with
 * the cursor, although the store holds only a handful of them in memory;
 * the filtered pages come from indexes (no sequential scan of the table);
 * a database of schema 1 (search indexes over the record's JSON) is brought
 * to schema 2 (tenant, model and search words as columns) with its rows
 * found as before, and a row written without those columns (a master older
 * than schema 2) is filled by the trigger; a database of schema 2 gets the
 * priority column (schema 3) filled from its rows' JSON, and a row written
 * without it is filled by the trigger; a database of schema 3 gets the
 * features column (schema 4, the multi-master claim's) the same way; and a master on PostgreSQL lists,
 * searches and exports tasks from before its restart through GET
 * /api/v1/tasks and /tasks/export.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import type { TaskView } from '../../common/task-view.js';
import type { TaskRecord } from '../../master/core/task-record.js';
import { Master } from '../../master/master.js';
import { ensureClusterSchema } from '../../master/store/cluster-schema.js';
import { migratePostgres, PG_SCHEMA_VERSION } from '../../master/store/postgres-schema.js';
import { PostgresTaskStore } from '../../master/store/postgres-task-store.js';
import { serializeFixed, serializeState } from '../../master/store/sqlite-rows.js';
import { scanSearch, type TaskSearchQuery } from '../../master/store/task-search.js';
import { uniqueId, waitForTask } from '../helpers/cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { finishedTask, newTask } from './store-contract.js';

const available = postgresAvailable();
const N = 1500;
const T0 = Date.now() - N * 1000;

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** N tasks: kinds, models, workers, priorities, sessions, tenants, words; most finished, some live. */
function records(): TaskRecord[] {
  const r = rand(3);
  const out: TaskRecord[] = [];
  for (let i = 0; i < N; i++) {
    const kind = i % 3 === 0 ? 'llm' : 'echo';
    const words = [`word${Math.floor(r() * 40)}z`, `word${Math.floor(r() * 400)}z`, ...(i % 97 === 5 ? ['needlezebra'] : [])];
    const over: Partial<TaskRecord> = {
      id: `ps-${i}`, seq: i + 1, kind, key: kind, requirement: kind === 'llm' ? { kind, model: i % 2 ? 'model-a' : 'model-b' } : { kind },
      input: { text: words.join(' ') }, priority: i % 4, sessionId: i % 10 === 0 ? 's-ten' : null, createdAtMs: T0 + i * 1000,
      tenant: i % 5 === 0 ? 'acme' : 'default',
      owner: i % 5 === 0 ? (i % 10 === 0 ? 'key-u1' : 'key-u2') : null,
    } as Partial<TaskRecord>;
    const roll = r();
    let t: TaskRecord;
    if (i > N - 20 && roll < 0.5) {
      t = newTask(over); // queued, live
    } else {
      t = finishedTask(roll < 0.1 ? 'failed' : 'succeeded', T0 + i * 1000 + 500, over);
      t.workerId = `w-${i % 7}`;
      if (t.status === 'failed') (t.result = null), (t.error = { code: 'PROVIDER_UNAVAILABLE', message: 'upstream timeout' });
      else t.result = { text: `answer ${words[0]}` };
    }
    out.push(t);
  }
  return out;
}

/** Every page of a query, following next_cursor. */
async function allPages(store: PostgresTaskStore, q: Omit<TaskSearchQuery, 'limit' | 'cursor'>, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await store.search({ ...q, limit, cursor });
    expect(page.tasks.length).toBeLessThanOrEqual(limit);
    ids.push(...page.tasks.map((t) => t.id));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
  }
  throw new Error('no last page');
}

describe.skipIf(!available)(`PostgreSQL task search${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  let url: string;
  let store: PostgresTaskStore;
  const all = records();
  beforeAll(async () => {
    server = await Postgres.start();
    url = await server.createDatabase();
    store = await PostgresTaskStore.open({ url, maxCachedFinished: 5 });
    for (const t of all) store.put(t);
    await store.commit();
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  const mid = T0 + (N / 2) * 1000;
  const plain: [string, Omit<TaskSearchQuery, 'limit' | 'cursor'>][] = [
    ['no filter', {}],
    ['status', { statuses: ['failed'] }],
    ['two statuses', { statuses: ['failed', 'queued'] }],
    ['kind', { kind: 'llm' }],
    ['kind + model', { kind: 'llm', model: 'model-b' }],
    ['worker', { workerId: 'w-3' }],
    ['priority', { priority: 2 }],
    ['session', { sessionId: 's-ten' }],
    ['tenant scope', { tenant: 'acme' }],
    ['tenant + status', { tenant: 'acme', statuses: ['succeeded'] }],
    ['tenant + owner (a user key)', { tenant: 'acme', owners: ['key-u1'] }],
    ['tenant + owners (a user with two keys)', { tenant: 'acme', owners: ['key-u1', 'key-u2'] }],
    ['time range', { createdSinceMs: mid, createdUntilMs: mid + 100_000 }],
    ['since, past the end', { createdSinceMs: T0 + N * 2000 }],
  ];
  for (const [name, q] of plain) {
    it(`${name}: the same tasks in the same order as a scan, page by page`, async () => {
      const want = scanSearch(all, { ...q, limit: N }).tasks.map((t) => t.id);
      expect(await allPages(store, q, 37)).toEqual(want);
    });
  }

  const text: [string, Omit<TaskSearchQuery, 'limit' | 'cursor'>][] = [
    ['a rare word', { text: 'needlezebra' }],
    ['a common word', { text: 'word3z' }],
    ['two words', { text: 'word3z word7z' }],
    ['a word of the error', { text: 'timeout' }],
    ['an error code (split by the parser)', { text: 'PROVIDER_UNAVAILABLE' }],
    ['a word of the result + kind', { text: 'answer', kind: 'llm' }],
    ['text in the tenant scope', { text: 'word5z', tenant: 'acme' }],
    ['a word nowhere', { text: 'nowherezzz' }],
  ];
  for (const [name, q] of text) {
    it(`text, ${name}: the same tasks as a scan, each once, across pages`, async () => {
      const want = scanSearch(all, { ...q, limit: N }).tasks.map((t) => t.id);
      const got = await allPages(store, q, 25);
      expect(new Set(got).size).toBe(got.length);
      expect([...got].sort()).toEqual([...want].sort());
    });
  }

  it('a bad cursor is a 400-style validation error naming the cursor', async () => {
    await expect(store.search({ limit: 10, cursor: 'bm9wZQ' })).rejects.toMatchObject({ code: 'BAD_REQUEST', field: 'cursor' });
  });

  it('filtered pages and text come from the indexes: no sequential scan of the tasks table', { timeout: 60_000 }, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query('ANALYZE tasks');
      const scans = async () => {
        await c.query('SELECT pg_stat_force_next_flush()').catch(() => undefined); // PostgreSQL 15+: the counters now
        return Number((await c.query<{ n: string }>(`SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'tasks'`)).rows[0]!.n);
      };
      const indexes = (await c.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'`)).rows.map((r) => r.indexname);
      expect(indexes).toEqual(expect.arrayContaining(['tasks_search_seq', 'tasks_search_kind', 'tasks_search_worker', 'tasks_search_model_col', 'tasks_search_tenant_col', 'tasks_search_priority', 'tasks_search_created', 'tasks_search_words']));
      // The store's own connections report their counters when idle, up to 10 s later (PostgreSQL 15+:
      // PGSTAT_IDLE_INTERVAL; older servers within 500 ms): wait that out before each reading, so the
      // scans of the earlier tests are in `before` and those of these searches in the second reading.
      const settled = async () => (await new Promise((r) => setTimeout(r, 10_500)), scans());
      // Every filter, priority too (a column since schema 3; before, its filter read each row's JSON).
      const before = await settled();
      for (const [, q] of [...plain, ...text]) await store.search({ ...q, limit: 20 });
      expect(await settled()).toBe(before);
      // The counter does count: a query that must read the table moves it.
      await c.query(`SELECT count(*) FROM tasks WHERE record LIKE '%quokka%'`);
      expect(await scans()).toBeGreaterThan(before);
    } finally {
      await c.end();
    }
  });
});

/** A task row as schema 1 (and a master older than schema 2) writes it: no tenant, model or search column. */
async function insertV1(c: pg.Client, t: TaskRecord): Promise<void> {
  await c.query(
    `INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [t.id, t.seq, t.status, t.kind, t.sessionId, t.idempotencyKey, t.createdAtMs, t.finishedAtMs, t.attempt, t.workerId, t.assignedAtMs, serializeFixed(t), serializeState(t)],
  );
}

describe.skipIf(!available)(`PostgreSQL store schema 1 -> 2: search columns${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => server?.close());

  it('rows of schema 1 are found by tenant, model and text after the upgrade; a row without the columns is filled by the trigger', async () => {
    const url = await server.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    let store: PostgresTaskStore | undefined;
    try {
      await migratePostgres(c, 1);
      const at = Date.now() - 10_000;
      const old = [
        finishedTask('succeeded', at, { id: 'v1-a', seq: 1, kind: 'llm', requirement: { kind: 'llm', model: 'm-old' }, tenant: 'acme', input: 'quokka pouch' } as Partial<TaskRecord>),
        finishedTask('failed', at + 1, { id: 'v1-b', seq: 2, input: 'plain' } as Partial<TaskRecord>),
        newTask({ id: 'v1-c', seq: 3, tenant: 'acme' } as Partial<TaskRecord>),
      ];
      old[1]!.error = { code: 'WORKER_LOST', message: 'numbat vanished' };
      old[1]!.result = null;
      for (const t of old) await insertV1(c, t);

      store = await PostgresTaskStore.open({ url, maxCachedFinished: 0 });
      const version = (await c.query<{ version: number }>('SELECT version FROM taskwire_schema')).rows[0]!.version;
      expect(version).toBe(PG_SCHEMA_VERSION); // and on to today's schema
      const cols = (await c.query<{ id: string; tenant: string; model: string | null; words: boolean }>(
        `SELECT id, tenant, model, search IS NOT NULL AS words FROM tasks ORDER BY seq`,
      )).rows;
      expect(cols).toEqual([
        { id: 'v1-a', tenant: 'acme', model: 'm-old', words: true },
        { id: 'v1-b', tenant: 'default', model: null, words: true },
        { id: 'v1-c', tenant: 'acme', model: null, words: false },
      ]);
      const ids = async (q: Omit<TaskSearchQuery, 'limit'>) => (await store!.search({ ...q, limit: 10 })).tasks.map((t) => t.id);
      expect(await ids({ model: 'm-old' })).toEqual(['v1-a']);
      expect(await ids({ tenant: 'acme' })).toEqual(['v1-c', 'v1-a']);
      expect(await ids({ text: 'quokka' })).toEqual(['v1-a']);
      expect(await ids({ text: 'numbat' })).toEqual(['v1-b']);

      // A master older than schema 2 (rolling update) inserts and finishes rows without the columns.
      const late = finishedTask('succeeded', at + 2, { id: 'v1-d', seq: 4, kind: 'llm', requirement: { kind: 'llm', model: 'm-late' }, tenant: 'acme', input: 'wombat burrow' } as Partial<TaskRecord>);
      await insertV1(c, late);
      const queued = newTask({ id: 'v1-e', seq: 5, input: 'platypus' } as Partial<TaskRecord>);
      await insertV1(c, queued);
      await c.query(`UPDATE tasks SET status = 'succeeded', finished_at = $2, state = $3 WHERE id = $1`, [queued.id, at + 3, JSON.stringify({ history: [], result: 'echidna' })]);
      expect(await ids({ model: 'm-late' })).toEqual(['v1-d']);
      expect(await ids({ text: 'wombat' })).toEqual(['v1-d']);
      expect(await ids({ text: 'echidna' })).toEqual(['v1-e']);
      expect(await ids({ text: 'platypus' })).toEqual(['v1-e']);
      expect(await ids({ tenant: 'default', statuses: ['succeeded'] })).toEqual(['v1-e']);
    } finally {
      await store?.close();
      await c.end();
    }
  });

  it('the master writes the columns itself: a task it finishes is found by its words, tenant and model', async () => {
    const url = await server.createDatabase();
    const store = await PostgresTaskStore.open({ url, maxCachedFinished: 0 });
    try {
      const t = newTask({ kind: 'llm', requirement: { kind: 'llm', model: 'm-new' }, tenant: 'acme', input: 'capybara' } as Partial<TaskRecord>);
      store.put(t);
      await store.commit();
      const done = structuredClone(t);
      done.status = 'succeeded';
      done.attempt = 1;
      done.finishedAtMs = Date.now();
      done.result = 'axolotl';
      store.put(done);
      await store.commit();
      const rows = await queryRows<{ tenant: string; model: string; search: string }>(url, 'SELECT tenant, model, search::text AS search FROM tasks');
      expect(rows).toEqual([{ tenant: 'acme', model: 'm-new', search: expect.stringContaining("'axolotl'") }]);
      expect(rows[0]!.search).toContain("'capybara'");
      const page = await store.search({ text: 'axolotl', tenant: 'acme', model: 'm-new', limit: 5 });
      expect(page.tasks.map((x) => x.id)).toEqual([t.id]);
    } finally {
      await store.close();
    }
  });
});

/** A task row as schema 2 (and a master older than schema 3) writes it: tenant and model, no priority column. */
async function insertV2(c: pg.Client, t: TaskRecord): Promise<void> {
  await c.query(
    `INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state, tenant, model)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [t.id, t.seq, t.status, t.kind, t.sessionId, t.idempotencyKey, t.createdAtMs, t.finishedAtMs, t.attempt, t.workerId, t.assignedAtMs, serializeFixed(t), serializeState(t), t.tenant, t.requirement.model ?? null],
  );
}

describe.skipIf(!available)(`PostgreSQL store schema 2 -> 3: the priority column${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => server?.close());

  const columnOf = async (c: pg.Client) =>
    (await c.query<{ data_type: string; is_nullable: string; column_default: string | null }>(
      `SELECT data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'priority'`,
    )).rows;

  it('rows of schema 2 get their priority from the JSON on open and are found by it; rows written without the column are filled by the trigger', async () => {
    const url = await server.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    let store: PostgresTaskStore | undefined;
    try {
      await migratePostgres(c, 2);
      expect(await columnOf(c)).toEqual([]);
      const at = Date.now() - 10_000;
      const old = [
        finishedTask('succeeded', at, { id: 'v2-a', seq: 1, priority: 0 } as Partial<TaskRecord>),
        finishedTask('failed', at + 1, { id: 'v2-b', seq: 2, priority: 7 } as Partial<TaskRecord>),
        finishedTask('succeeded', at + 2, { id: 'v2-c', seq: 3, priority: 3, tenant: 'acme' } as Partial<TaskRecord>),
        newTask({ id: 'v2-d', seq: 4, priority: 7 } as Partial<TaskRecord>),
      ];
      for (const t of old) await insertV2(c, t);

      store = await PostgresTaskStore.open({ url, maxCachedFinished: 0 });
      expect((await c.query<{ version: number }>('SELECT version FROM taskwire_schema')).rows[0]!.version).toBe(PG_SCHEMA_VERSION);
      // No default left: a row that comes without it is filled by the trigger, never silently 0.
      expect(await columnOf(c)).toEqual([{ data_type: 'integer', is_nullable: 'NO', column_default: null }]);
      const prio = async () => (await c.query<{ id: string; priority: number }>('SELECT id, priority FROM tasks ORDER BY seq')).rows;
      expect(await prio()).toEqual([
        { id: 'v2-a', priority: 0 },
        { id: 'v2-b', priority: 7 },
        { id: 'v2-c', priority: 3 },
        { id: 'v2-d', priority: 7 },
      ]);
      const ids = async (q: Omit<TaskSearchQuery, 'limit'>) => (await store!.search({ ...q, limit: 10 })).tasks.map((t) => t.id);
      expect(await ids({ priority: 7 })).toEqual(['v2-d', 'v2-b']);
      expect(await ids({ priority: 3, tenant: 'acme' })).toEqual(['v2-c']);
      expect(await ids({ priority: 0 })).toEqual(['v2-a']);

      // A master of schema 2 (rolling update) and `taskwire store migrate` (the schema 1 columns) insert rows without it.
      await insertV2(c, finishedTask('succeeded', at + 3, { id: 'v2-e', seq: 5, priority: 5 } as Partial<TaskRecord>));
      await insertV1(c, finishedTask('succeeded', at + 4, { id: 'v2-f', seq: 6, priority: 5 } as Partial<TaskRecord>));
      // The master itself writes the column with the row.
      const own = newTask({ id: 'v2-g', priority: 5 } as Partial<TaskRecord>);
      store.put(own);
      await store.commit();
      expect((await prio()).slice(4)).toEqual([
        { id: 'v2-e', priority: 5 },
        { id: 'v2-f', priority: 5 },
        { id: 'v2-g', priority: 5 },
      ]);
      expect(await ids({ priority: 5 })).toEqual(['v2-g', 'v2-f', 'v2-e']);
    } finally {
      await store?.close();
      await c.end();
    }
  });

  it('a multi-master database of schema 2 (the pool already has an integer priority) keeps its column and values', async () => {
    const url = await server.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await migratePostgres(c, 2);
      await ensureClusterSchema(c);
      const t = finishedTask('succeeded', Date.now(), { id: 'mm-a', seq: 1, priority: 4 } as Partial<TaskRecord>);
      await c.query(
        `INSERT INTO tasks (id, seq, status, kind, created_at, finished_at, attempt, record, state, tenant, priority) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'default', 4)`,
        [t.id, t.seq, t.status, t.kind, t.createdAtMs, t.finishedAtMs, t.attempt, serializeFixed(t), serializeState(t)],
      );
      expect(await migratePostgres(c)).toBe(2);
      await ensureClusterSchema(c); // what a multi-master start runs next: the column is there, nothing changes
      expect(await columnOf(c)).toEqual([{ data_type: 'integer', is_nullable: 'NO', column_default: null }]);
      expect((await c.query<{ priority: number }>('SELECT priority FROM tasks')).rows).toEqual([{ priority: 4 }]);
    } finally {
      await c.end();
    }
  });
});

/** A task row as schema 3 (and a master older than schema 4) writes it: tenant, model and priority, no features column. */
async function insertV3(c: pg.Client, t: TaskRecord): Promise<void> {
  await c.query(
    `INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state, tenant, model, priority)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [t.id, t.seq, t.status, t.kind, t.sessionId, t.idempotencyKey, t.createdAtMs, t.finishedAtMs, t.attempt, t.workerId, t.assignedAtMs, serializeFixed(t), serializeState(t), t.tenant, t.requirement.model ?? null, t.priority],
  );
}

describe.skipIf(!available)(`PostgreSQL store schema 3 -> 4: the features column${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => server?.close());

  it("rows of schema 3 get their requirement's features on open (joined as in the queue key, NULL for none); rows written without the column by store migrate are filled by the trigger; the master writes it", async () => {
    const url = await server.createDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    let store: PostgresTaskStore | undefined;
    try {
      await migratePostgres(c, 3);
      const webp = { kind: 'image', features: ['op:resize', 'read:webp'] };
      await insertV3(c, newTask({ id: 'v3-a', seq: 1, kind: 'image', requirement: webp } as Partial<TaskRecord>));
      await insertV3(c, newTask({ id: 'v3-b', seq: 2, kind: 'image', requirement: { kind: 'image' } } as Partial<TaskRecord>));
      await insertV3(c, finishedTask('succeeded', Date.now(), { id: 'v3-c', seq: 3, requirement: { kind: 'echo', features: ['x'] } } as Partial<TaskRecord>));
      store = await PostgresTaskStore.open({ url, maxCachedFinished: 0 });
      expect((await c.query<{ version: number }>('SELECT version FROM taskwire_schema')).rows[0]!.version).toBe(4);
      const features = async () => (await c.query<{ id: string; features: string | null }>('SELECT id, features FROM tasks ORDER BY seq')).rows;
      expect(await features()).toEqual([
        { id: 'v3-a', features: 'op:resize,read:webp' },
        { id: 'v3-b', features: null },
        { id: 'v3-c', features: 'x' },
      ]);
      await insertV1(c, newTask({ id: 'v3-d', seq: 4, kind: 'image', requirement: webp } as Partial<TaskRecord>));
      const own = newTask({ id: 'v3-e', seq: 5, kind: 'image', requirement: { kind: 'image', features: ['format:avif'] } } as Partial<TaskRecord>);
      store.put(own);
      await store.commit();
      expect((await features()).slice(3)).toEqual([
        { id: 'v3-d', features: 'op:resize,read:webp' },
        { id: 'v3-e', features: 'format:avif' },
      ]);
    } finally {
      await store?.close();
      await c.end();
    }
  });
});

describe.skipIf(!available)(`master on PostgreSQL: listings, search and export read the database${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => server?.close());

  it('after a restart (nothing in memory) GET /api/v1/tasks filters, finds by text and pages; export has every task', async () => {
    const url = await server.createDatabase();
    const start = () =>
      Master.create(
        { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, masterId: uniqueId('m'), store: url },
        { logger: { logger: silentLogger() } },
      );
    let m = await start();
    const http = () => `http://127.0.0.1:${m.httpPort}`;
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${http()}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: i === 17 ? 'findme quokka' : `plain ${i}` }, timeout_ms: 60_000 }) });
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as TaskView).id);
      }
      for (const id of ids.slice(0, 3)) await fetch(`${http()}/api/v1/tasks/${id}/cancel`, { method: 'POST' });
      for (const id of ids.slice(0, 3)) expect((await waitForTask(http(), id)).status).toBe('cancelled');
      await m.close();
      m = await start();
      const get = async (q: string) => (await (await fetch(`${http()}/api/v1/tasks?${q}`)).json()) as { tasks: TaskView[]; next_cursor: string | null };
      expect((await get('status=cancelled')).tasks.map((t) => t.id).sort()).toEqual(ids.slice(0, 3).sort());
      // Queued ones were restored as live tasks; text over finished ones needs the index: cancel the one with the word.
      await fetch(`${http()}/api/v1/tasks/${ids[17]}/cancel`, { method: 'POST' });
      await waitForTask(http(), ids[17]!);
      await m.close();
      m = await start();
      expect((await get('q=quokka')).tasks.map((t) => t.id)).toEqual([ids[17]]);
      const first = await get('limit=10');
      expect(first.tasks).toHaveLength(10);
      expect(first.next_cursor).not.toBeNull();
      const seen = [...first.tasks.map((t) => t.id)];
      let cursor = first.next_cursor;
      while (cursor) {
        const page = await get(`limit=10&cursor=${encodeURIComponent(cursor)}`);
        seen.push(...page.tasks.map((t) => t.id));
        cursor = page.next_cursor;
      }
      expect(seen).toEqual([...ids].reverse());
      const lines = (await (await fetch(`${http()}/api/v1/tasks/export?format=jsonl`)).text()).trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([...ids].reverse());
      const bad = await fetch(`${http()}/api/v1/tasks?cursor=nope`);
      expect(bad.status).toBe(400);
    } finally {
      await m.close();
    }
  }, 120_000);
});
