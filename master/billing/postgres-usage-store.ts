/**
 * The usage ledger, prices and budgets on PostgreSQL (the task store's
 * database, TASKWIRE_STORE=postgres://…), shared by every master on it, so a
 * report on any master sums every master's rows. Same rules as the SQLite
 * ledger: rows of one event-loop turn go in one statement (`INSERT … ON
 * CONFLICT DO NOTHING RETURNING`: the primary key task + attempt decides, no
 * read first, and only new rows reach the listeners); triggers refuse UPDATE
 * and DELETE. A batch that cannot be written is kept and retried (bounded),
 * so PostgreSQL being away for a while loses no row. Prices and settings are
 * read by `open()`, written through on a change, and read again every 2 s:
 * another master's change is told to the billing room (`watch`). Schema
 * versions in taskwire_room_schema.
 */
import type pg from 'pg';
import { TaskwireError } from '../../common/errors.js';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { SettingWrites } from '../store/postgres-setting-writes.js';
import type { PriceVersion } from './price-table.js';
import type { UsageRow } from './usage-row.js';
import { COLUMNS, type UsageQuery, type UsageStore } from './usage-store.js';

/** Step n makes version n of the billing room's tables. Append only. */
export const BILLING_PG_STEPS: readonly string[] = [
  `
  CREATE TABLE tw_usage (
    task_id text NOT NULL, attempt integer NOT NULL, tenant text NOT NULL, key text NOT NULL, kind text NOT NULL,
    model text, worker_id text, outcome text NOT NULL, tokens_in bigint NOT NULL, tokens_out bigint NOT NULL,
    processing_ms bigint NOT NULL, images integer NOT NULL, megapixels double precision NOT NULL, bytes_in bigint NOT NULL,
    bytes_out bigint NOT NULL, at_ms bigint NOT NULL, cost double precision NOT NULL, price_version integer NOT NULL,
    PRIMARY KEY (task_id, attempt));
  CREATE INDEX tw_usage_tenant_at ON tw_usage (tenant, at_ms);
  CREATE INDEX tw_usage_at ON tw_usage (at_ms);
  CREATE FUNCTION tw_usage_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the usage ledger is append-only'; END $$;
  CREATE TRIGGER tw_usage_no_change BEFORE UPDATE OR DELETE ON tw_usage FOR EACH ROW EXECUTE FUNCTION tw_usage_append_only();
  CREATE TABLE tw_prices (version integer PRIMARY KEY, effective_from_ms bigint NOT NULL, json text NOT NULL);
  CREATE TABLE tw_billing_settings (name text PRIMARY KEY, json text NOT NULL);
  `,
  // 2: the CPU time and memory workers report per attempt (older rows 0; a constant default rewrites no row, no trigger fires).
  `
  ALTER TABLE tw_usage ADD COLUMN cpu_us bigint NOT NULL DEFAULT 0, ADD COLUMN mem_mib_ms bigint NOT NULL DEFAULT 0;
  `,
];

const TYPES: Record<(typeof COLUMNS)[number], string> = {
  task_id: 'text', attempt: 'int', tenant: 'text', key: 'text', kind: 'text', model: 'text', worker_id: 'text', outcome: 'text',
  tokens_in: 'bigint', tokens_out: 'bigint', processing_ms: 'bigint', cpu_us: 'bigint', mem_mib_ms: 'bigint', images: 'int', megapixels: 'float8', bytes_in: 'bigint',
  bytes_out: 'bigint', at_ms: 'bigint', cost: 'float8', price_version: 'int',
};
const INSERT = `INSERT INTO tw_usage (${COLUMNS.join(', ')}) SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${TYPES[c]}[]`).join(', ')})
  ON CONFLICT (task_id, attempt) DO NOTHING RETURNING task_id, attempt`;

/** Rows kept for a retry while PostgreSQL is away; past it the oldest are dropped (and counted). */
const MAX_PENDING = 100_000;
const RETRY_MS = 1000;
const SETTINGS_POLL_MS = 2000;

export class UsageStoreAsyncError extends Error {
  readonly code = 'USAGE_STORE_ASYNC';
  constructor() {
    super('the PostgreSQL usage ledger is read asynchronously: use query()');
    this.name = 'UsageStoreAsyncError';
  }
}

type Pending = { row: UsageRow; written: ((row: UsageRow) => void) | undefined };

export class PostgresUsageStore implements UsageStore {
  private pending: Pending[] = [];
  private scheduled = false;
  private inflight: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly writes: SettingWrites;
  private prices: PriceVersion[] = [];
  private readonly settings = new Map<string, unknown>();
  private closed = false;
  /** Rows dropped because PostgreSQL was away too long (MAX_PENDING). */
  dropped = 0;
  /** The last write error (cleared by a write that succeeds). */
  lastError: Error | undefined;

  private watcher: (() => void) | undefined;
  private readonly pollTimer: NodeJS.Timeout;
  /** What the poll compares: the newest price version and the settings as stored. */
  private seen = '';

  private constructor(private readonly pool: pg.Pool) {
    this.writes = new SettingWrites(pool, 'the billing setting');
    this.pollTimer = setInterval(() => void this.poll(), SETTINGS_POLL_MS);
    this.pollTimer.unref();
  }

  watch(listener: () => void): void {
    this.watcher = listener;
  }

  /** Prices and settings read again every 2 s; the billing room is told when another master changed them. */
  private async poll(): Promise<void> {
    if (this.closed || !this.watcher) return;
    try {
      const read = await this.writes.read(async () => ({
        prices: (await this.pool.query<{ json: string }>('SELECT json FROM tw_prices ORDER BY version')).rows.map((r) => JSON.parse(r.json) as PriceVersion),
        settings: (await this.pool.query<{ name: string; json: string }>('SELECT name, json FROM tw_billing_settings ORDER BY name')).rows,
      }));
      if (read === undefined) return; // a change of ours overlapped: the next poll
      const { prices, settings } = read;
      const mark = JSON.stringify([prices.map((p) => p.version), settings]);
      if (mark === this.seen) return;
      this.seen = mark;
      const known = new Set(this.prices.map((p) => p.version));
      for (const p of prices) if (!known.has(p.version)) this.prices.push(p);
      this.prices.sort((a, b) => a.version - b.version);
      for (const s of settings) this.settings.set(s.name, JSON.parse(s.json) as unknown);
      this.watcher();
    } catch {
      // PostgreSQL out of reach: the next poll tries again.
    }
  }

  static async open(pool: pg.Pool): Promise<PostgresUsageStore> {
    await migrateRoom(pool, 'billing', BILLING_PG_STEPS);
    const s = new PostgresUsageStore(pool);
    s.prices = (await pool.query<{ json: string }>('SELECT json FROM tw_prices ORDER BY version')).rows.map((r) => JSON.parse(r.json) as PriceVersion);
    const settings = (await pool.query<{ name: string; json: string }>('SELECT name, json FROM tw_billing_settings ORDER BY name')).rows;
    for (const r of settings) s.settings.set(r.name, JSON.parse(r.json) as unknown);
    // What open() read is what the first poll compares against: a change made after it is told to the billing room.
    s.seen = JSON.stringify([s.prices.map((p) => p.version), settings]);
    return s;
  }

  insert(row: UsageRow, written?: (row: UsageRow) => void): void {
    if (this.closed) return;
    this.pending.push({ row: { ...row }, written });
    if (this.pending.length > MAX_PENDING) (this.pending.shift(), this.dropped++);
    if (!this.scheduled && !this.inflight) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Writes what is pending (one statement per batch; the next batch gathers meanwhile). */
  flush(): Promise<void> {
    this.scheduled = false;
    if (this.inflight) return this.inflight;
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    this.inflight = this.write(batch).finally(() => {
      this.inflight = undefined;
      if (this.pending.length > 0 && !this.retryTimer) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
    return this.inflight;
  }

  private async write(batch: Pending[]): Promise<void> {
    const cols = COLUMNS.map((c) => batch.map((p) => p.row[c]));
    let res: pg.QueryResult<{ task_id: string; attempt: number }>;
    try {
      res = await this.pool.query<{ task_id: string; attempt: number }>(INSERT, cols);
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err as Error;
      this.pending = batch.concat(this.pending); // kept in order, written on the retry
      if (this.pending.length > MAX_PENDING) this.dropped += this.pending.splice(0, this.pending.length - MAX_PENDING).length;
      if (!this.closed && !this.retryTimer) {
        this.retryTimer = setTimeout(() => ((this.retryTimer = undefined), void this.flush()), RETRY_MS);
        this.retryTimer.unref();
      }
      return;
    }
    const fresh = new Set(res.rows.map((r) => `${r.task_id}\u0000${r.attempt}`));
    for (const p of batch) if (fresh.has(`${p.row.task_id}\u0000${p.row.attempt}`)) p.written?.(p.row);
  }

  /** Synchronous reads are for the stores on this host (memory, SQLite): here a clear error. */
  rows(): UsageRow[] {
    throw new UsageStoreAsyncError();
  }

  async query(q: UsageQuery): Promise<UsageRow[]> {
    while (this.pending.length > 0 || this.inflight) {
      await this.flush();
      if (this.lastError) break; // PostgreSQL is away: answer (or fail) with what it has
    }
    const sql = `SELECT ${COLUMNS.join(', ')} FROM tw_usage WHERE at_ms >= $1 AND at_ms < $2${q.tenant === undefined ? '' : ' AND tenant = $3'} ORDER BY at_ms, task_id, attempt`;
    const args: (string | number)[] = [q.fromMs, q.toMs];
    if (q.tenant !== undefined) args.push(q.tenant);
    return (await this.pool.query<UsageRow>(sql, args)).rows;
  }

  loadPrices(): PriceVersion[] {
    return [...this.prices];
  }

  /** Resolves once committed; rejects with 409 when another master added this version first, 503 when PostgreSQL refused it. */
  async savePrice(v: PriceVersion): Promise<void> {
    const r = await this.writes.write('INSERT INTO tw_prices (version, effective_from_ms, json) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [v.version, v.effective_from_ms, JSON.stringify(v)]);
    if (r.rowCount === 0) {
      void this.poll(); // learn the other master's version
      throw new TaskwireError('CONFLICT', `price version ${v.version} was added by another master at the same time; read GET /api/v1/admin/prices and add yours again`);
    }
    this.prices.push(v);
  }

  loadSetting(name: string): unknown {
    return this.settings.get(name);
  }

  /** Resolves once committed; rejects with 503 when PostgreSQL refused it. */
  async saveSetting(name: string, value: unknown): Promise<void> {
    await this.writes.write('INSERT INTO tw_billing_settings (name, json) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET json = excluded.json', [name, JSON.stringify(value)]);
    this.settings.set(name, value);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.pollTimer);
  }

  /** Writes what is pending and waits (the rooms' pool is ended after this); a row PostgreSQL refuses now is lost and counted. */
  async drain(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.flush();
    if (this.pending.length > 0) await this.flush().catch(() => undefined);
    this.dropped += this.pending.length;
    this.pending = [];
    await this.writes.settled();
  }
}
