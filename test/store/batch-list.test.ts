/**
 * The batch listing's index in each store, below the REST route
 * (test/integration/batch-list.test.ts covers the route): SQLite answers
 * every scope of a page from an index in order (the query plan has no scan
 * of the table and no sort), and so does PostgreSQL (a real server, 20,000
 * batches, analysed), an old `batches.db` without the listing's
 * columns is upgraded and its rows listed once restored, and the memory
 * index orders batches of the same millisecond by id and follows a cursor
 * through them.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBatchStore, decodeBatchCursor, encodeBatchCursor, type BatchListQuery, type StoredBatch } from '../../master/batches/batch-store.js';
import { PostgresBatchStore, pageQuery } from '../../master/batches/postgres-batch-store.js';
import { SqliteBatchStore } from '../../master/batches/sqlite-batch-store.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'taskwire-batch-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const id = (n: number) => `batch-00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
function batch(n: number, createdAtMs: number, o: { tenant?: string; owner?: string; failed?: boolean; running?: boolean } = {}): StoredBatch {
  return {
    id: id(n),
    caller: { tenant: o.tenant, owner: o.owner },
    ops: [{ op: 'grayscale' }],
    items: [{ name: 'a.png', blob: 'b'.repeat(64), key: 'k', taskId: null, status: o.failed ? 'failed' : o.running ? 'queued' : 'succeeded', attempts: 1, output: null, workerId: null, ms: 1, cached: false, error: null }],
    createdAtMs,
    finishedAtMs: o.running ? null : createdAtMs + 1,
  };
}

describe('SQLite', () => {
  it('every scope of a page is read from an index in order: no table scan, no sort', () => {
    const store = new SqliteBatchStore(join(dir, 'plan.db'));
    const before = { createdAtMs: 1000, id: id(5) };
    const queries: BatchListQuery[] = [
      { limit: 50 },
      { limit: 50, status: 'failed', before },
      { limit: 50, tenant: 'acme' },
      { limit: 50, tenant: 'acme', status: 'running', before },
      { limit: 50, tenant: 'acme', owners: ['key-1'] },
    ];
    for (const q of queries) {
      const plan = planOf(store, q);
      expect(plan, JSON.stringify(q)).toMatch(/USING (COVERING )?INDEX batches_/);
      console.log(`${JSON.stringify(q)}: ${plan.replace(/\n/g, ' | ')}`);
      expect(plan, JSON.stringify(q)).not.toMatch(/TEMP B-TREE|SCAN batches(?! USING)/);
    }
    void store.close();
  });

  it('an old batches.db (no owner, no status) is upgraded; its batches are listed once their headers are written again', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE batches (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, record TEXT NOT NULL);
      CREATE TABLE batch_items (batch_id TEXT NOT NULL, idx INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (batch_id, idx));`);
    const b = batch(1, 500, { tenant: 'acme', owner: 'key-1', failed: true });
    old.prepare('INSERT INTO batches VALUES (?, ?, ?, ?, ?)').run(b.id, 'acme', 500, 501, JSON.stringify({ id: b.id, caller: b.caller, ops: b.ops, createdAtMs: 500, finishedAtMs: 501 }));
    old.prepare('INSERT INTO batch_items VALUES (?, 0, ?)').run(b.id, JSON.stringify(b.items[0]));
    old.close();
    const store = new SqliteBatchStore(path);
    const [loaded] = await store.load();
    expect(loaded!.id).toBe(b.id);
    expect(await store.list({ limit: 10, status: 'failed' })).toEqual([]); // no status yet
    store.put(loaded!, []); // what BatchService.restore does for every batch
    expect(await store.list({ limit: 10, status: 'failed' })).toEqual([b.id]);
    expect(await store.list({ limit: 10, tenant: 'acme', owners: ['key-1'] })).toEqual([b.id]);
    await store.close();
  });
});

function planOf(store: SqliteBatchStore, q: BatchListQuery): string {
  const db = (store as unknown as { db: Database.Database }).db;
  const sql = store.pageStatement(q).source;
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...bindings(q)) as { detail: string }[];
  return rows.map((r) => r.detail).join('\n');
}

/** The statement's parameters in order (as listWhere adds them). */
function bindings(q: BatchListQuery): unknown[] {
  return [
    ...(q.tenant !== undefined ? [q.tenant] : []),
    ...(q.owners ?? []),
    ...(q.status !== undefined ? [q.status] : []),
    ...(q.before ? [q.before.createdAtMs, q.before.id] : []),
  ];
}

const pgAvailable = postgresAvailable();

describe.skipIf(!pgAvailable)(`PostgreSQL${pgAvailable ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres | undefined;
  afterAll(async () => server?.close());

  it('every scope of a page is read from an index over 20,000 batches: in order, no sequential scan, no sort (a key with a few batches: those sorted)', { timeout: 120_000 }, async () => {
    server = await Postgres.start();
    const url = await server.createDatabase();
    const store = await PostgresBatchStore.open(url); // makes the tables and indexes
    await store.close();
    // 20,000 headers: half of them one busy key's (tenant t0), the rest 20 tenants' 200 keys (a key in one
    // tenant), three statuses; then the statistics the planner uses.
    await queryRows(
      url,
      `INSERT INTO taskwire_batches (id, tenant, owner, status, created_at, finished_at, record)
       SELECT 'batch-' || lpad(n::text, 8, '0'),
              CASE WHEN n % 2 = 0 THEN 't0' ELSE 't' || (n % 200 % 20) END,
              CASE WHEN n % 2 = 0 THEN 'key-busy' ELSE 'key-' || (n % 200) END,
              (ARRAY['running', 'succeeded', 'failed'])[1 + n % 3], 1000 + n, NULL, '{}'
       FROM generate_series(1, 20000) n`,
    );
    await queryRows(url, 'ANALYZE taskwire_batches');
    const before = { createdAtMs: 15_000, id: 'batch-00014000' };
    const queries: BatchListQuery[] = [
      { limit: 50 },
      { limit: 50, status: 'failed', before },
      { limit: 50, tenant: 't3' },
      { limit: 50, tenant: 't3', status: 'running', before },
      { limit: 50, tenant: 't0', owners: ['key-busy'] },
      { limit: 50, tenant: 't3', owners: ['key-3'] }, // ~50 rows: the planner may read them all by index and sort those
    ];
    for (const q of queries) {
      const few = q.owners?.[0] === 'key-3';
      const { text, values } = pageQuery(q);
      const plan = (await queryRows<{ 'QUERY PLAN': unknown }>(url, `EXPLAIN (FORMAT JSON) ${text}`, values))[0]!['QUERY PLAN'];
      const nodes: { type: string; index?: string }[] = [];
      const walk = (n: { 'Node Type': string; 'Index Name'?: string; Plans?: unknown[] }) => {
        nodes.push({ type: n['Node Type'], ...(n['Index Name'] && { index: n['Index Name'] }) });
        for (const c of n.Plans ?? []) walk(c as typeof n);
      };
      walk((plan as { Plan: Parameters<typeof walk>[0] }[])[0]!.Plan);
      console.log(`${JSON.stringify(q)}: ${nodes.map((n) => n.type + (n.index ? ` ${n.index}` : '')).join(' > ')}`);
      expect(nodes.some((n) => /Index/.test(n.type) && n.index?.startsWith('taskwire_batches_')), JSON.stringify(q)).toBe(true);
      expect(nodes.filter((n) => (n.type === 'Sort' && !few) || n.type === 'Seq Scan'), JSON.stringify(q)).toEqual([]);
      // And the page is the right one.
      const got = (await queryRows<{ id: string }>(url, text, values)).map((r) => r.id);
      expect(got.length, JSON.stringify(q)).toBeGreaterThan(0);
      expect([...got].sort().reverse(), JSON.stringify(q)).toEqual(got);
    }
  });
});

describe('memory', () => {
  it('orders by (created, id) newest first, ties by id, and pages through them with the cursor', async () => {
    const store = new MemoryBatchStore();
    // Out of order and three in one millisecond.
    for (const b of [batch(3, 200), batch(1, 100), batch(5, 200, { failed: true }), batch(4, 200, { tenant: 'acme' }), batch(2, 150, { running: true })]) store.put(b);
    expect(await store.list({ limit: 10 })).toEqual([id(5), id(4), id(3), id(2), id(1)]);
    const first = await store.list({ limit: 2 });
    const cursor = decodeBatchCursor(encodeBatchCursor({ createdAtMs: 200, id: first.at(-1)! }));
    expect(await store.list({ limit: 2, before: cursor })).toEqual([id(3), id(2)]);
    expect(await store.list({ limit: 10, status: 'failed' })).toEqual([id(5)]);
    expect(await store.list({ limit: 10, status: 'running' })).toEqual([id(2)]);
    expect(await store.list({ limit: 10, tenant: 'acme' })).toEqual([id(4)]);
    expect(await store.list({ limit: 10, tenant: 'default' })).toEqual([id(5), id(3), id(2), id(1)]);
    store.remove([id(3)]);
    expect(await store.list({ limit: 10, before: { createdAtMs: 200, id: id(4) } })).toEqual([id(2), id(1)]);
  });
});
