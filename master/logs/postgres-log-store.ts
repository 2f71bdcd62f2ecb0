/**
 * Kept log lines on PostgreSQL (the task store's database,
 * TASKWIRE_STORE=postgres://…), shared by every master on it: one log with
 * one id sequence, so `GET /api/v1/logs` on any master shows every master's
 * lines and workers' lines (each master keeps the lines it took), and a
 * follow resumes with `Last-Event-ID` on any master.
 *
 * As the event outbox (events/postgres-event-outbox.ts): lines are written
 * in batches (100 ms or 1000 lines), one transaction under an advisory lock
 * so ids are committed in increasing order; the transaction NOTIFYs
 * `taskwire_logs` and every master reads the new rows (`tail`) to feed its
 * followers. The full-text filter uses a GIN index over
 * `to_tsvector('simple', msg)`; the byte bound uses a running total kept in
 * the same transactions. Each line keeps its tenant and owner (indexed by
 * tenant). Schema versions in taskwire_room_schema (2: the tenant and owner
 * columns; lines from before are cluster lines).
 */
import pg from 'pg';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { PostgresTail } from '../store/postgres-tail.js';
import { entryBytes, LOG_LEVEL_NAMES, levelRank, textWords, type LogEntry, type LogLevelName, type LogPageRequest, type NewLogEntry } from './log-entry.js';
import type { LogBounds, LogStore } from './log-store.js';

/** Step n makes version n of the logs room's tables. Append only. */
export const LOGS_PG_STEPS: readonly string[] = [
  `
  CREATE TABLE tw_logs (
    id bigserial PRIMARY KEY, ts bigint NOT NULL, level integer NOT NULL, source text NOT NULL,
    worker_id text, task_id text, msg text NOT NULL, bytes integer NOT NULL
  );
  CREATE INDEX tw_logs_task ON tw_logs (task_id, id) WHERE task_id IS NOT NULL;
  CREATE INDEX tw_logs_worker ON tw_logs (worker_id, id) WHERE worker_id IS NOT NULL;
  CREATE INDEX tw_logs_source ON tw_logs (source, id);
  CREATE INDEX tw_logs_ts ON tw_logs (ts);
  CREATE INDEX tw_logs_problems ON tw_logs (id) WHERE level >= 40;
  CREATE INDEX tw_logs_text ON tw_logs USING gin (to_tsvector('simple', msg));
  CREATE TABLE tw_log_bytes (one boolean PRIMARY KEY DEFAULT true CHECK (one), bytes bigint NOT NULL);
  INSERT INTO tw_log_bytes (bytes) VALUES (0);
  `,
  `
  ALTER TABLE tw_logs ADD COLUMN tenant text, ADD COLUMN owner text;
  CREATE INDEX tw_logs_tenant ON tw_logs (tenant, id) WHERE tenant IS NOT NULL;
  `,
];

const CHANNEL = 'taskwire_logs';
const APPEND_LOCK = 0x6c6f6773; // "logs"
const FLUSH_MS = 100;
const FLUSH_LINES = 1000;
const PRUNE_CHUNK = 5000;
const TAIL_PAGE = 1000;
const POLL_MS = 1000;
/** Lines kept for a retry while PostgreSQL is away; past it the oldest are dropped. */
const MAX_PENDING = 50_000;

const ignore = (): void => undefined;

type Row = { id: number; ts: number; level: number; source: string; worker_id: string | null; task_id: string | null; tenant: string | null; owner: string | null; msg: string };
const COLS = 'id, ts, level, source, worker_id, task_id, tenant, owner, msg';

function toEntry(r: Row): LogEntry {
  const level = (LOG_LEVEL_NAMES[r.level / 10 - 1] ?? 'info') as LogLevelName;
  return { id: r.id, ts: r.ts, level, source: r.source, worker_id: r.worker_id, task_id: r.task_id, tenant: r.tenant, owner: r.owner, msg: r.msg };
}

const INSERT = `WITH ins AS (
    INSERT INTO tw_logs (ts, level, source, worker_id, task_id, msg, bytes, tenant, owner)
    SELECT ts, level, source, worker_id, task_id, msg, bytes, tenant, owner
    FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[])
      WITH ORDINALITY AS u(ts, level, source, worker_id, task_id, msg, bytes, tenant, owner, n)
    ORDER BY n RETURNING bytes)
  UPDATE tw_log_bytes SET bytes = bytes + (SELECT coalesce(sum(bytes), 0) FROM ins)`;
const DELETE_CHUNK = (where: string, order: string) => `WITH gone AS (
    DELETE FROM tw_logs WHERE id IN (SELECT id FROM tw_logs ${where} ORDER BY ${order} LIMIT $1) RETURNING bytes)
  UPDATE tw_log_bytes SET bytes = bytes - (SELECT coalesce(sum(bytes), 0) FROM gone) RETURNING (SELECT count(*) FROM gone)::int AS n, bytes`;

export class PostgresLogStore implements LogStore {
  readonly shared = true;
  private pending: NewLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  /** Lines dropped because PostgreSQL was away too long. */
  dropped = 0;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly bounds: LogBounds,
    /** Every master's committed lines (store/postgres-tail.ts). */
    private readonly feed: PostgresTail<Row, LogEntry[]>,
  ) {}

  static async open(pool: pg.Pool, url: string, bounds: LogBounds): Promise<PostgresLogStore> {
    await migrateRoom(pool, 'logs', LOGS_PG_STEPS);
    const last = (await pool.query<{ m: number | null }>('SELECT max(id) AS m FROM tw_logs')).rows[0]?.m ?? 0;
    const feed = await PostgresTail.open<Row, LogEntry[]>({
      pool, url, channel: CHANNEL, appName: 'taskwire-master-logs', lastId: last, pageRows: TAIL_PAGE, pollMs: POLL_MS,
      select: `SELECT ${COLS} FROM tw_logs WHERE id > $1 ORDER BY id LIMIT $2`,
      map: (rows) => rows.map(toEntry),
    });
    return new PostgresLogStore(pool, bounds, feed);
  }

  /** The newest id handed to `tail` (every master's lines up to it). */
  get lastId(): number {
    return this.feed.lastId;
  }

  /** Ids are given at COMMIT: none here; the lines come back with their ids through `tail`. */
  append(lines: readonly NewLogEntry[]): LogEntry[] {
    if (this.closed) return [];
    this.pending.push(...lines);
    if (this.pending.length > MAX_PENDING) this.dropped += this.pending.splice(0, this.pending.length - MAX_PENDING).length;
    if (this.pending.length >= FLUSH_LINES) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    return [];
  }

  /** Writes what is pending (one transaction; the next batch gathers meanwhile). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.pending.length === 0) return this.writing ?? Promise.resolve();
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 && !this.closed && !this.timer) {
        this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
        this.timer.unref();
      }
    });
    return this.writing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const cols: unknown[][] = [[], [], [], [], [], [], [], [], []];
    for (const e of batch) {
      cols[0]!.push(e.ts);
      cols[1]!.push(levelRank(e.level));
      cols[2]!.push(e.source);
      cols[3]!.push(e.worker_id);
      cols[4]!.push(e.task_id);
      cols[5]!.push(e.msg.replace(/\u0000/g, '')); // PostgreSQL text holds no NUL
      cols[6]!.push(entryBytes(e));
      cols[7]!.push(e.tenant ?? null);
      cols[8]!.push(e.owner ?? null);
    }
    let c: pg.PoolClient | undefined;
    let failed: Error | undefined;
    try {
      c = await this.pool.connect();
      c.on('error', ignore); // a connection lost while checked out: the query in flight fails, no uncaught 'error'
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
      await c.query(INSERT, cols);
      await c.query(`NOTIFY ${CHANNEL}`);
      await c.query('COMMIT');
    } catch (err) {
      failed = err as Error;
      await c?.query('ROLLBACK').catch(() => undefined);
      this.pending = batch.concat(this.pending); // kept in order for the retry
      if (this.pending.length > MAX_PENDING) this.dropped += this.pending.splice(0, this.pending.length - MAX_PENDING).length;
      return;
    } finally {
      c?.off('error', ignore);
      c?.release(failed); // a failed connection leaves the pool
    }
    this.tail();
  }

  /** Every master's lines, in id order, once each, after they are committed. */
  tail(onEntries?: (entries: LogEntry[]) => void): void {
    this.feed.read(onEntries);
  }

  async page(req: LogPageRequest): Promise<LogEntry[]> {
    await this.flush();
    const f = req.filter;
    const where: string[] = [];
    const args: (string | number)[] = [];
    const arg = (v: string | number) => (args.push(v), `$${args.length}`);
    if (f.owners !== undefined && f.owners.length === 0) return [];
    if (f.text !== undefined) {
      const words = textWords(f.text);
      if (words.length === 0) return [];
      // The words are letters, digits and _ only: safe as tsquery terms.
      where.push(`to_tsvector('simple', msg) @@ to_tsquery('simple', ${arg(words.join(' & '))})`);
    }
    if (req.afterId !== undefined) where.push(`id > ${arg(req.afterId)}`);
    if (req.beforeId !== undefined) where.push(`id < ${arg(req.beforeId)}`);
    if (f.minLevel !== undefined && levelRank(f.minLevel) > 10) {
      const rank = levelRank(f.minLevel);
      if (rank >= 40) where.push('level >= 40'); // the partial index of problems
      where.push(`level >= ${arg(rank)}`);
    }
    if (f.taskId !== undefined) where.push(`task_id = ${arg(f.taskId)}`);
    if (f.workerId !== undefined) where.push(`worker_id = ${arg(f.workerId)}`);
    if (f.source !== undefined) where.push(`source = ${arg(f.source)}`);
    if (f.tenant !== undefined) where.push(`tenant = ${arg(f.tenant)}`);
    if (f.owners !== undefined) where.push(`owner IN (${f.owners.map((o) => arg(o)).join(', ')})`);
    if (f.sinceTs !== undefined) where.push(`ts >= ${arg(f.sinceTs)}`);
    if (f.untilTs !== undefined) where.push(`ts < ${arg(f.untilTs)}`);
    const order = req.afterId !== undefined ? 'ASC' : 'DESC';
    const sql = `SELECT ${COLS} FROM tw_logs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT ${arg(req.limit)}`;
    return (await this.pool.query<Row>(sql, args)).rows.map(toEntry);
  }

  /** Deletes lines older than the cutoff, then the oldest while over the byte bound, a chunk per statement. */
  async prune(beforeTs: number): Promise<number> {
    await this.flush();
    let total = 0;
    for (;;) {
      if (this.closed) return total;
      const r = (await this.pool.query<{ n: number; bytes: number }>(DELETE_CHUNK('WHERE ts < $2', 'ts'), [PRUNE_CHUNK, beforeTs])).rows[0];
      total += r?.n ?? 0;
      if ((r?.n ?? 0) < PRUNE_CHUNK) break;
    }
    for (;;) {
      if (this.closed) return total;
      const bytes = (await this.pool.query<{ bytes: number }>('SELECT bytes FROM tw_log_bytes')).rows[0]?.bytes ?? 0;
      if (bytes <= this.bounds.maxBytes) break;
      const rows = Math.min(PRUNE_CHUNK, Math.ceil((bytes - this.bounds.maxBytes) / 512) + 1);
      const r = (await this.pool.query<{ n: number }>(DELETE_CHUNK('', 'id'), [rows])).rows[0];
      total += r?.n ?? 0;
      if (!r || r.n === 0) break;
    }
    return total;
  }

  /** Writes what is pending, then stops listening (the rooms' pool is ended after this). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    if (this.pending.length > 0) await this.flush();
    this.closed = true;
    clearTimeout(this.timer);
    await this.feed.close();
  }
}
