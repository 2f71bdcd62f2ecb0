/**
 * Image batches on PostgreSQL, in the task store's database
 * (TASKWIRE_STORE=postgres://…): tables `taskwire_batches` and
 * `taskwire_batch_items`, created if missing under an advisory lock. Changed
 * rows are written behind, one transaction per write (multi-row upserts over
 * `unnest()` arrays); `flush()` resolves after COMMIT. A write that fails is
 * kept (newer states of the same rows win) and retried after a second.
 */
import pg from 'pg';
import { pgClientConfig } from '../store/postgres-writer.js';
import { assembleBatches, listWhere, PendingBatches, type BatchListQuery, type BatchStore, type HeaderRow, type StoredBatch } from './batch-store.js';
import { inLockedTransaction } from '../store/postgres-locked.js';

/** Advisory lock key while the tables are created ("btch"). */
const SCHEMA_LOCK = 0x62746368;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS taskwire_batches (id text PRIMARY KEY, tenant text NOT NULL, created_at bigint NOT NULL, finished_at bigint, record text NOT NULL);
  CREATE TABLE IF NOT EXISTS taskwire_batch_items (batch_id text NOT NULL, idx integer NOT NULL, record text NOT NULL, PRIMARY KEY (batch_id, idx));
  -- The listing (newest first) reads one of these in order from the cursor on: every tenant (a cluster
  -- operator), one tenant, one owner (a user key), each also by status. owner and status came after the
  -- first release: the old rows are filled when the batches are restored (BatchService.restore writes every header).
  ALTER TABLE taskwire_batches ADD COLUMN IF NOT EXISTS owner text;
  ALTER TABLE taskwire_batches ADD COLUMN IF NOT EXISTS status text;
  CREATE INDEX IF NOT EXISTS taskwire_batches_created ON taskwire_batches (created_at, id);
  CREATE INDEX IF NOT EXISTS taskwire_batches_status_created ON taskwire_batches (status, created_at, id);
  CREATE INDEX IF NOT EXISTS taskwire_batches_tenant_created ON taskwire_batches (tenant, created_at, id);
  CREATE INDEX IF NOT EXISTS taskwire_batches_tenant_status_created ON taskwire_batches (tenant, status, created_at, id);
  CREATE INDEX IF NOT EXISTS taskwire_batches_owner_created ON taskwire_batches (owner, created_at, id);
  -- The holding master (several masters) as a column, so the unfinished batches of a master gone for good
  -- are found and taken over in one statement; rows from before have it in their record only.
  ALTER TABLE taskwire_batches ADD COLUMN IF NOT EXISTS master text;
  UPDATE taskwire_batches SET master = record::jsonb ->> 'master' WHERE master IS NULL AND finished_at IS NULL AND record::jsonb ? 'master';
  CREATE INDEX IF NOT EXISTS taskwire_batches_unfinished ON taskwire_batches (master) WHERE finished_at IS NULL;
`;
/** A header is written by its holder only: a master that lost the batch to a take-over no longer changes it. */
const PUT_HEADERS = `INSERT INTO taskwire_batches (id, tenant, owner, status, created_at, finished_at, master, record)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
  ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, status = excluded.status, finished_at = excluded.finished_at, record = excluded.record
  WHERE taskwire_batches.master IS NULL OR taskwire_batches.master IS NOT DISTINCT FROM excluded.master`;
/**
 * The take-over: unfinished batches with no holder (copied by `store
 * migrate`, or kept by a single master before the move to several) or whose
 * holder has no live lease in the cluster's membership (taskwire_masters, on
 * the database's clock). Masters
 * taking over at once: the row lock makes the second re-check its WHERE, and
 * the batch is then held by a live master, so it skips it.
 */
const TAKE_OVER = `UPDATE taskwire_batches b SET master = $1
  WHERE finished_at IS NULL AND (master IS NULL OR (master <> $1
    AND NOT EXISTS (SELECT 1 FROM taskwire_masters m WHERE m.id = b.master AND m.lease_until > now())))
  RETURNING id`;
const PUT_ITEMS = `INSERT INTO taskwire_batch_items (batch_id, idx, record)
  SELECT * FROM unnest($1::text[], $2::int[], $3::text[])
  ON CONFLICT (batch_id, idx) DO UPDATE SET record = excluded.record`;
const RETRY_MS = 1000;

type Header = HeaderRow;
type ItemRow = { batchId: string; idx: number; record: string };
/** A pool or a client (in the caller's transaction). */
type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Creates the batch tables (or brings them up to date) in a transaction of
 * its own on `c`, under the advisory lock: masters starting at once, or
 * `taskwire store migrate` before its copy, run SCHEMA one at a time.
 * Idempotent (IF NOT EXISTS).
 */
export async function createBatchTables(c: pg.ClientBase): Promise<void> {
  await inLockedTransaction(c, SCHEMA_LOCK, () => c.query(SCHEMA));
}

/** Writes header and item rows (PendingBatches.take()) with the run-time upserts, on `c` inside the caller's transaction. */
async function writeRows(c: Queryable, hs: readonly Header[], is: readonly ItemRow[]): Promise<void> {
  if (hs.length > 0) {
    const cols = [hs.map((h) => h.id), hs.map((h) => h.tenant), hs.map((h) => h.owner), hs.map((h) => h.status), hs.map((h) => h.createdAtMs), hs.map((h) => h.finishedAtMs), hs.map((h) => h.master), hs.map((h) => h.record)];
    await c.query(PUT_HEADERS, cols);
  }
  if (is.length > 0) await c.query(PUT_ITEMS, [is.map((i) => i.batchId), is.map((i) => i.idx), is.map((i) => i.record)]);
}

/**
 * Writes `batches` whole (header and every item) on `c` inside the caller's
 * transaction, with the statements the store writes at run time
 * (`taskwire store migrate`: master/batches/batch-files-migrate.ts).
 */
export async function insertBatches(c: Queryable, batches: readonly StoredBatch[]): Promise<void> {
  const pending = new PendingBatches();
  for (const b of batches) pending.add(b, 'all');
  const { headers, items } = pending.take();
  await writeRows(c, headers, items);
}

/** Of `ids`, those with a batch row on the database (`c`). */
export async function existingBatchIds(c: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await c.query<{ id: string }>('SELECT id FROM taskwire_batches WHERE id = ANY($1::text[])', [ids]);
  return new Set(r.rows.map((row) => row.id));
}

/** The listing's statement for `q` (the index it uses: test/store/batch-list.test.ts reads its plan). */
export function pageQuery(q: BatchListQuery): { text: string; values: unknown[] } {
  const { where, params } = listWhere(q, (n) => `$${n}`);
  return { text: `SELECT id FROM taskwire_batches ${where} ORDER BY created_at DESC, id DESC LIMIT ${Math.trunc(q.limit)}`, values: params };
}

export class PostgresBatchStore implements BatchStore {
  private readonly pending = new PendingBatches();
  /** Rows taken but not yet committed (a failed write puts them back unless a newer state came). */
  private readonly unwritten = new Map<string, Header | ItemRow>();
  /** Batches to delete with the next write. */
  private removed = new Set<string>();
  private writing: Promise<void> | null = null;
  private scheduled: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private closed = false;

  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string): Promise<PostgresBatchStore> {
    const pool = new pg.Pool({ ...pgClientConfig(url), application_name: 'taskwire-master-batches', max: 2, idleTimeoutMillis: 30_000 });
    pool.on('error', () => undefined); // an idle connection lost: the pool replaces it
    const c = await pool.connect().catch(async (err: unknown) => {
      await pool.end().catch(() => undefined);
      throw err;
    });
    try {
      await createBatchTables(c);
    } catch (err) {
      c.release();
      await pool.end().catch(() => undefined);
      throw err;
    }
    c.release();
    return new PostgresBatchStore(pool);
  }

  async load(): Promise<StoredBatch[]> {
    const headers = await this.pool.query<{ record: string; master: string | null }>('SELECT record, master FROM taskwire_batches');
    const items = await this.pool.query<{ batch_id: string; idx: number; record: string }>('SELECT batch_id, idx, record FROM taskwire_batch_items');
    return assembleBatches(headers.rows, items.rows);
  }

  async list(q: BatchListQuery): Promise<string[]> {
    await this.write(); // what was put before is in the index
    const r = await this.pool.query<{ id: string }>(pageQuery(q));
    return r.rows.map((row) => row.id);
  }

  /** `holder`: the holder from its column (a take-over changes it first), else as the record says (who wrote it last). */
  async read(ids: readonly string[], holder = true): Promise<StoredBatch[]> {
    if (ids.length === 0) return [];
    const headers = await this.pool.query<{ record: string; master: string | null }>(`SELECT record${holder ? ', master' : ''} FROM taskwire_batches WHERE id = ANY($1::text[])`, [ids]);
    if (headers.rows.length === 0) return [];
    const items = await this.pool.query<{ batch_id: string; idx: number; record: string }>('SELECT batch_id, idx, record FROM taskwire_batch_items WHERE batch_id = ANY($1::text[])', [ids]);
    return assembleBatches(headers.rows, items.rows);
  }

  /** The batches taken, as last written by their old holder (its id in `master`; none for one with no holder). */
  async takeOver(master: string): Promise<StoredBatch[]> {
    const r = await this.pool.query<{ id: string }>(TAKE_OVER, [master]);
    return this.read(r.rows.map((x) => x.id), false);
  }

  put(batch: StoredBatch, items: 'all' | readonly number[]): void {
    this.pending.add(batch, items);
    this.schedule(0);
  }

  remove(ids: readonly string[]): void {
    for (const id of ids) {
      this.pending.drop(id);
      for (const k of this.unwritten.keys()) if (k === `h\u0000${id}` || k.startsWith(`i\u0000${id}\u0000`)) this.unwritten.delete(k);
      this.removed.add(id);
    }
    if (ids.length > 0) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.scheduled || this.closed) return;
    const run = () => {
      this.scheduled = null;
      void this.write().catch(() => this.schedule(RETRY_MS));
    };
    this.scheduled = ms === 0 ? setImmediate(run) : setTimeout(run, ms);
  }

  /** One write at a time; what came meanwhile goes in the next. */
  private async write(): Promise<void> {
    while (this.writing) await this.writing.catch(() => undefined);
    const { headers, items } = this.pending.take();
    for (const h of headers) this.unwritten.set(`h\u0000${h.id}`, h);
    for (const i of items) this.unwritten.set(`i\u0000${i.batchId}\u0000${i.idx}`, i);
    if (this.unwritten.size === 0 && this.removed.size === 0) return;
    const batch = new Map(this.unwritten);
    this.unwritten.clear();
    const gone = [...this.removed];
    this.removed.clear();
    const hs = [...batch.values()].filter((r): r is Header => 'tenant' in r);
    const is = [...batch.values()].filter((r): r is ItemRow => 'batchId' in r);
    const job = (async () => {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        await writeRows(c, hs, is);
        if (gone.length > 0) {
          await c.query('DELETE FROM taskwire_batch_items WHERE batch_id = ANY($1::text[])', [gone]);
          await c.query('DELETE FROM taskwire_batches WHERE id = ANY($1::text[])', [gone]);
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    })();
    this.writing = job;
    try {
      await job;
    } catch (err) {
      for (const [k, v] of batch) if (!this.unwritten.has(k)) this.unwritten.set(k, v);
      for (const id of gone) this.removed.add(id);
      throw err;
    } finally {
      this.writing = null;
    }
  }

  async flush(): Promise<void> {
    await this.write();
  }

  async close(): Promise<void> {
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = null;
    }
    await this.write().catch(() => undefined);
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}
