/**
 * Image batches in SQLite: `batches.db` in the data dir, next to the task
 * store's `taskwire.db` (a file of its own, as events, logs, limits and usage
 * have: the task store's writer thread owns taskwire.db, and a second writer
 * there would contend with its group commits). Changed rows of one
 * event-loop turn are written in one transaction.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { assembleBatches, listWhere, PendingBatches, type BatchListQuery, type BatchStore, type StoredBatch } from './batch-store.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS batches (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created_at INTEGER NOT NULL, finished_at INTEGER, record TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS batch_items (batch_id TEXT NOT NULL, idx INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (batch_id, idx));
`;
/**
 * The listing (newest first) reads one of these in order from the cursor on:
 * every tenant (a cluster operator), one tenant, one owner (a user key), each
 * also by status. `owner` and `status` came after the first release: added
 * when missing, and filled for the old rows when the batches are restored
 * (BatchService.restore writes every header once).
 */
const LIST_INDEXES = `
  CREATE INDEX IF NOT EXISTS batches_created ON batches (created_at, id);
  CREATE INDEX IF NOT EXISTS batches_status_created ON batches (status, created_at, id);
  CREATE INDEX IF NOT EXISTS batches_tenant_created ON batches (tenant, created_at, id);
  CREATE INDEX IF NOT EXISTS batches_tenant_status_created ON batches (tenant, status, created_at, id);
  CREATE INDEX IF NOT EXISTS batches_owner_created ON batches (owner, created_at, id);
`;

/** Every batch of `db` with its items (the columns of the first release: an older file reads too). */
function loadBatches(db: Database.Database): StoredBatch[] {
  const headers = db.prepare('SELECT record FROM batches').all() as { record: string }[];
  const items = db.prepare('SELECT batch_id, idx, record FROM batch_items').all() as { batch_id: string; idx: number; record: string }[];
  return assembleBatches(headers, items);
}

/**
 * The batches of a `batches.db` opened read-only (`taskwire store migrate`:
 * the file of a stopped master is read, never changed or brought up to
 * date); a file with no tables yet has none.
 */
export function readBatchFile(path: string): StoredBatch[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('batches', 'batch_items')").get() as { n: number };
    return tables.n === 2 ? loadBatches(db) : [];
  } finally {
    db.close();
  }
}

export class SqliteBatchStore implements BatchStore {
  private readonly db: Database.Database;
  private readonly pending = new PendingBatches();
  private scheduled: NodeJS.Immediate | null = null;
  private readonly putHeader: Database.Statement;
  private readonly putItem: Database.Statement;

  constructor(readonly path: string) {
    this.db = new Database(path);
    try {
      chmodSync(path, 0o600);
    } catch {
      // not ours to change (a mounted volume): the data dir is 0700
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const columns = new Set((this.db.prepare('PRAGMA table_info(batches)').all() as { name: string }[]).map((c) => c.name));
    if (!columns.has('owner')) this.db.exec('ALTER TABLE batches ADD COLUMN owner TEXT');
    if (!columns.has('status')) this.db.exec('ALTER TABLE batches ADD COLUMN status TEXT');
    this.db.exec(LIST_INDEXES);
    this.putHeader = this.db.prepare(
      'INSERT INTO batches (id, tenant, owner, status, created_at, finished_at, record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, status = excluded.status, finished_at = excluded.finished_at, record = excluded.record',
    );
    this.putItem = this.db.prepare('INSERT INTO batch_items (batch_id, idx, record) VALUES (?, ?, ?) ON CONFLICT (batch_id, idx) DO UPDATE SET record = excluded.record');
  }

  async load(): Promise<StoredBatch[]> {
    return loadBatches(this.db);
  }

  async list(q: BatchListQuery): Promise<string[]> {
    this.write(); // what was put before is in the index
    return this.pageStatement(q).pluck().all() as string[];
  }

  /** The listing's statement for `q` (the index it uses: test/store/batch-list.test.ts reads its plan). */
  pageStatement(q: BatchListQuery): Database.Statement {
    const { where, params } = listWhere(q, () => '?');
    return this.db.prepare(`SELECT id FROM batches ${where} ORDER BY created_at DESC, id DESC LIMIT ${Math.trunc(q.limit)}`).bind(...params);
  }

  put(batch: StoredBatch, items: 'all' | readonly number[]): void {
    this.pending.add(batch, items);
    this.scheduled ??= setImmediate(() => this.write());
  }

  remove(ids: readonly string[]): void {
    if (ids.length === 0 || !this.db.open) return;
    for (const id of ids) this.pending.drop(id);
    const del = this.db.prepare('DELETE FROM batches WHERE id = ?');
    const delItems = this.db.prepare('DELETE FROM batch_items WHERE batch_id = ?');
    this.db.transaction(() => {
      for (const id of ids) (del.run(id), delItems.run(id));
    })();
  }

  async flush(): Promise<void> {
    this.write();
  }

  private write(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    if (this.pending.size === 0 || !this.db.open) return;
    const { headers, items } = this.pending.take();
    this.db.transaction(() => {
      for (const h of headers) this.putHeader.run(h.id, h.tenant, h.owner, h.status, h.createdAtMs, h.finishedAtMs, h.record);
      for (const i of items) this.putItem.run(i.batchId, i.idx, i.record);
    })();
  }

  async close(): Promise<void> {
    this.write();
    this.db.close();
  }
}
