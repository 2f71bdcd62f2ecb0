/**
 * Where the usage ledger lives. `MemoryUsageStore` (no data dir; bounded to
 * the most recent `maxRows` rows) and `SqliteUsageStore` (`usage.db` in the
 * data dir, a file of its own, WAL, 0600): rows are INSERT OR IGNORE on the
 * primary key (task_id, attempt), so a row is written once; triggers refuse
 * UPDATE and DELETE, so the table is append-only. Rows of one event-loop turn
 * go to a writer thread as one batch and are written there in one
 * transaction, off the master's thread.
 * The price versions and the budgets are kept next to the rows. Schema
 * version in `user_version` (1: cpu_us and mem_mib_ms, added to an older
 * file in place, its rows 0).
 * `PostgresUsageStore` (postgres-usage-store.ts) keeps them in the task
 * store's PostgreSQL, shared by every master on it.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Fifo } from '../core/fifo.js';
import { SqliteThread } from '../store/sqlite-thread.js';
import type { PriceVersion } from './price-table.js';
import type { UsageRow } from './usage-row.js';

export interface UsageQuery {
  tenant?: string;
  fromMs: number;
  toMs: number;
}

export interface UsageStore {
  /**
   * Appends a row; `written` runs once it is in the ledger, and never when
   * task + attempt already was (the primary key decides, no read first).
   */
  insert(row: UsageRow, written?: (row: UsageRow) => void): void;
  /** The rows of a period, after what is pending was written: every store (reports, budgets). */
  query(q: UsageQuery): Promise<UsageRow[]>;
  /**
   * The same, synchronously: the stores on this host only (memory, SQLite).
   * The PostgreSQL store throws (its reads are async: use query()).
   */
  rows(q: UsageQuery): UsageRow[];
  loadPrices(): PriceVersion[];
  /** Keeps a price version; a shared store resolves once committed (409: the version was taken; 503: not kept). */
  savePrice(v: PriceVersion): void | Promise<void>;
  loadSetting(name: string): unknown;
  saveSetting(name: string, value: unknown): void | Promise<void>;
  /** A shared store: `listener` runs when another master changed the prices or a setting (read them again). */
  watch?(listener: () => void): void;
  close(): void | Promise<void>;
}

export class MemoryUsageStore implements UsageStore {
  private readonly byKey = new Map<string, UsageRow>();
  /** Keys in insertion order: the oldest go first (a Map's own order is not a FIFO: see core/fifo.ts). */
  private readonly order = new Fifo<string>();
  private readonly prices: PriceVersion[] = [];
  private readonly settings = new Map<string, unknown>();
  constructor(private readonly maxRows = 100_000) {}

  insert(row: UsageRow, written?: (row: UsageRow) => void): void {
    const k = `${row.task_id}\u0000${row.attempt}`;
    if (this.byKey.has(k)) return;
    this.byKey.set(k, Object.freeze(row)); // the ledger's own fresh row: kept as it is, no copy
    this.order.push(k);
    if (this.byKey.size > this.maxRows) this.byKey.delete(this.order.shift()!);
    written?.(row);
  }

  async query(q: UsageQuery): Promise<UsageRow[]> {
    return this.rows(q);
  }

  rows(q: UsageQuery): UsageRow[] {
    return [...this.byKey.values()].filter((r) => r.at_ms >= q.fromMs && r.at_ms < q.toMs && (q.tenant === undefined || r.tenant === q.tenant));
  }

  loadPrices(): PriceVersion[] {
    return [...this.prices];
  }

  savePrice(v: PriceVersion): void {
    this.prices.push(v);
  }

  loadSetting(name: string): unknown {
    return this.settings.get(name);
  }

  saveSetting(name: string, value: unknown): void {
    this.settings.set(name, value);
  }

  close(): void {}
}

export const COLUMNS = ['task_id', 'attempt', 'tenant', 'key', 'kind', 'model', 'worker_id', 'outcome', 'tokens_in', 'tokens_out', 'processing_ms', 'cpu_us', 'mem_mib_ms', 'images', 'megapixels', 'bytes_in', 'bytes_out', 'at_ms', 'cost', 'price_version'] as const satisfies readonly (keyof UsageRow)[];
// Compile-time check: every field of a row is a column.
type Missing = Exclude<keyof UsageRow, (typeof COLUMNS)[number]>;
const allStored: Missing extends never ? true : Missing = true;
void allStored;

/** The version of usage.db's schema this code writes (SQLite `user_version`). */
export const USAGE_SCHEMA_VERSION = 1;

/** Version 0's tables (as the first usage.db had them); migrate() takes them on. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS usage (
  task_id TEXT NOT NULL, attempt INTEGER NOT NULL, tenant TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
  model TEXT, worker_id TEXT, outcome TEXT NOT NULL, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
  processing_ms INTEGER NOT NULL, images INTEGER NOT NULL, megapixels REAL NOT NULL, bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL, at_ms INTEGER NOT NULL, cost REAL NOT NULL, price_version INTEGER NOT NULL,
  PRIMARY KEY (task_id, attempt)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_tenant_at ON usage (tenant, at_ms);
CREATE INDEX IF NOT EXISTS usage_at ON usage (at_ms);
CREATE TRIGGER IF NOT EXISTS usage_no_update BEFORE UPDATE ON usage BEGIN SELECT RAISE(ABORT, 'the usage ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS usage_no_delete BEFORE DELETE ON usage BEGIN SELECT RAISE(ABORT, 'the usage ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS prices (version INTEGER PRIMARY KEY, effective_from_ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, json TEXT NOT NULL);
`;

/** Brings usage.db to USAGE_SCHEMA_VERSION (step n makes version n; a newer file was refused at open). */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= USAGE_SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version < 1) {
      // A column with a constant default: SQLite changes no row (the append-only triggers do not fire), old rows read 0.
      db.exec(`
        ALTER TABLE usage ADD COLUMN cpu_us INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE usage ADD COLUMN mem_mib_ms INTEGER NOT NULL DEFAULT 0;
      `);
    }
    db.pragma(`user_version = ${USAGE_SCHEMA_VERSION}`);
  })();
}

/** The writer thread's part: one transaction per batch (a JSON array of rows); answers which rows were new ('1') or already there ('0'). */
const WRITER = `
const insert = db.prepare(workerData.insertSql);
const write = db.transaction((rows) => {
  let fresh = '';
  for (const r of rows) fresh += insert.run(r).changes === 1 ? '1' : '0';
  return fresh;
});
handle = (json) => write(JSON.parse(json));
`;

export class SqliteUsageStore implements UsageStore {
  private readonly db: Database.Database;
  private pending: { row: UsageRow; written: ((row: UsageRow) => void) | undefined }[] = [];
  private flushScheduled = false;
  /** Rows are written by a thread of their own (store/sqlite-thread.ts): the batch insert cost ~7 us per task on the master's thread. */
  private readonly writer: SqliteThread<string, string>;
  /** Rows the writer thread could not keep (its error), counted. */
  failedRows = 0;
  lastError: string | undefined;

  constructor(readonly path: string) {
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = new Database(path);
    chmodSync(path, 0o600);
    const found = this.db.pragma('user_version', { simple: true }) as number;
    if (found > USAGE_SCHEMA_VERSION) {
      this.db.close();
      throw new Error(`${path} was written by a newer taskwire (schema ${found}; this version reads up to ${USAGE_SCHEMA_VERSION})`);
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    migrate(this.db);
    const insertSql = `INSERT OR IGNORE INTO usage (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`;
    this.writer = new SqliteThread<string, string>(path, WRITER, { insertSql });
  }

  insert(row: UsageRow, written?: (row: UsageRow) => void): void {
    this.pending.push({ row, written });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands what is pending to the writer thread as one batch (once per event-loop turn); tells the writers whose rows were new once it is kept. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.writer.send(JSON.stringify(batch.map((p) => p.row)), (ack) => {
      if (ack.error !== undefined) {
        this.failedRows += batch.length;
        this.lastError = ack.error;
        return;
      }
      const fresh = ack.value ?? '';
      for (let i = 0; i < batch.length; i++) if (fresh.charCodeAt(i) === 49) batch[i]!.written?.(batch[i]!.row);
    });
  }

  /** The rows of a period once every row handed over so far is kept. */
  async query(q: UsageQuery): Promise<UsageRow[]> {
    this.flush();
    await this.writer.drain();
    return this.rows(q);
  }

  /** The rows of a period kept so far (the writer thread's last commits; query() waits for the pending ones). */
  rows(q: UsageQuery): UsageRow[] {
    const sql = `SELECT ${COLUMNS.join(', ')} FROM usage WHERE at_ms >= ? AND at_ms < ?${q.tenant === undefined ? '' : ' AND tenant = ?'} ORDER BY at_ms`;
    const args: (string | number)[] = [q.fromMs, q.toMs];
    if (q.tenant !== undefined) args.push(q.tenant);
    return this.db.prepare(sql).all(...args) as UsageRow[];
  }

  loadPrices(): PriceVersion[] {
    return (this.db.prepare('SELECT json FROM prices ORDER BY version').all() as { json: string }[]).map((r) => JSON.parse(r.json) as PriceVersion);
  }

  savePrice(v: PriceVersion): void {
    this.db.prepare('INSERT INTO prices (version, effective_from_ms, json) VALUES (?, ?, ?)').run(v.version, v.effective_from_ms, JSON.stringify(v));
  }

  loadSetting(name: string): unknown {
    const r = this.db.prepare('SELECT json FROM settings WHERE name = ?').get(name) as { json: string } | undefined;
    return r ? (JSON.parse(r.json) as unknown) : undefined;
  }

  saveSetting(name: string, value: unknown): void {
    this.db.prepare('INSERT INTO settings (name, json) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET json = excluded.json').run(name, JSON.stringify(value));
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.flush();
    await this.writer.close();
    this.db.close();
  }
}
