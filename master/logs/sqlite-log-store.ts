/**
 * Kept log lines in `logs.db` (its own file in the data dir, so log writes
 * never wait for the task store's lock). Lines are written in batches (one
 * transaction per 100 ms or per 1000 lines); a page reads what is pending
 * too. Indexes make the usual lookups O(page): by task, by worker, by time,
 * problems only (warn and above), and an FTS5 index over the message text.
 * Retention and the byte bound delete the oldest rows in chunks. Each line
 * keeps its tenant and owner (indexed by tenant); schema version in
 * `user_version` (1: the tenant and owner columns, added to an older file
 * in place, its lines cluster lines).
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { entryBytes, LOG_LEVEL_NAMES, levelRank, textWords, type LogEntry, type LogLevelName, type LogPageRequest, type NewLogEntry } from './log-entry.js';
import type { LogBounds, LogStore } from './log-store.js';

type Row = { id: number; ts: number; level: number; source: string; worker_id: string | null; task_id: string | null; tenant: string | null; owner: string | null; msg: string };

/** The version of logs.db's schema this code writes (SQLite `user_version`). */
export const LOG_SCHEMA_VERSION = 1;

const FLUSH_MS = 100;
const FLUSH_LINES = 1000;
const PRUNE_CHUNK = 5000;
/** Level rank of warn: lines at or above it are in the `logs_problems` index. */
const WARN = 30 + 10;

function toEntry(r: Row): LogEntry {
  const level = (LOG_LEVEL_NAMES[r.level / 10 - 1] ?? 'info') as LogLevelName;
  return { id: r.id, ts: r.ts, level, source: r.source, worker_id: r.worker_id, task_id: r.task_id, tenant: r.tenant, owner: r.owner, msg: r.msg };
}

/** Brings logs.db to LOG_SCHEMA_VERSION (step n makes version n; a newer file was refused at open). */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version >= LOG_SCHEMA_VERSION) return;
  db.transaction(() => {
    if (version < 1) {
      db.exec(`
        ALTER TABLE logs ADD COLUMN tenant TEXT;
        ALTER TABLE logs ADD COLUMN owner TEXT;
        CREATE INDEX IF NOT EXISTS logs_tenant ON logs(tenant, id) WHERE tenant IS NOT NULL;
      `);
    }
    db.pragma(`user_version = ${LOG_SCHEMA_VERSION}`);
  })();
}

export class SqliteLogStore implements LogStore {
  private readonly db: Database.Database;
  private pending: LogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private next: number;
  private bytes: number;
  private closed = false;
  private readonly insert: Database.Statement;
  private readonly writeBatch: (rows: LogEntry[]) => void;

  constructor(
    path: string,
    private readonly bounds: LogBounds,
  ) {
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const db = new Database(path);
    const found = db.pragma('user_version', { simple: true }) as number;
    if (found > LOG_SCHEMA_VERSION) {
      db.close();
      throw new Error(`${path} was written by a newer taskwire (schema ${found}; this version reads up to ${LOG_SCHEMA_VERSION})`);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Version 0's tables (as the first logs.db had them), then the steps in migrate().
    db.exec(`
      CREATE TABLE IF NOT EXISTS logs (
        id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, level INTEGER NOT NULL, source TEXT NOT NULL,
        worker_id TEXT, task_id TEXT, msg TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS logs_task ON logs(task_id) WHERE task_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS logs_worker ON logs(worker_id) WHERE worker_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS logs_source ON logs(source);
      CREATE INDEX IF NOT EXISTS logs_ts ON logs(ts);
      CREATE INDEX IF NOT EXISTS logs_problems ON logs(id) WHERE level >= ${WARN};
      CREATE VIRTUAL TABLE IF NOT EXISTS logs_fts USING fts5(msg, content='logs', content_rowid='id');
      CREATE TRIGGER IF NOT EXISTS logs_fts_insert AFTER INSERT ON logs BEGIN
        INSERT INTO logs_fts(rowid, msg) VALUES (new.id, new.msg);
      END;
      CREATE TRIGGER IF NOT EXISTS logs_fts_delete AFTER DELETE ON logs BEGIN
        INSERT INTO logs_fts(logs_fts, rowid, msg) VALUES ('delete', old.id, old.msg);
      END;
    `);
    migrate(db);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    this.db = db;
    const stats = db.prepare<[], { max: number | null; bytes: number | null }>(
      'SELECT MAX(id) AS max, SUM(length(msg) + length(source) + coalesce(length(task_id), 0) + coalesce(length(worker_id), 0) + 96) AS bytes FROM logs',
    ).get();
    this.next = (stats?.max ?? 0) + 1;
    this.bytes = stats?.bytes ?? 0;
    this.insert = db.prepare('INSERT INTO logs (id, ts, level, source, worker_id, task_id, tenant, owner, msg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.writeBatch = db.transaction((rows: LogEntry[]) => {
      for (const e of rows) this.insert.run(e.id, e.ts, levelRank(e.level), e.source, e.worker_id, e.task_id, e.tenant, e.owner, e.msg);
    });
  }

  get lastId(): number {
    return this.next - 1;
  }

  /** Approximate bytes of the kept lines (the byte bound's measure). */
  get keptBytes(): number {
    return this.bytes;
  }

  append(lines: readonly NewLogEntry[]): LogEntry[] {
    const out: LogEntry[] = [];
    if (this.closed) return out;
    for (const l of lines) {
      const e: LogEntry = { ...l, tenant: l.tenant ?? null, owner: l.owner ?? null, id: this.next++ };
      this.pending.push(e);
      this.bytes += entryBytes(e);
      out.push(e);
    }
    if (this.pending.length >= FLUSH_LINES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
    return out;
  }

  /** Writes the pending lines in one transaction. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.closed) return;
    const rows = this.pending;
    this.pending = [];
    this.writeBatch(rows);
  }

  page(req: LogPageRequest): LogEntry[] {
    this.flush();
    const f = req.filter;
    const where: string[] = [];
    const args: (string | number)[] = [];
    const words = f.text === undefined ? [] : textWords(f.text);
    if (f.text !== undefined && words.length === 0) return [];
    if (f.owners !== undefined && f.owners.length === 0) return [];
    const idCol = words.length > 0 ? 'f.rowid' : 'l.id';
    if (words.length > 0) {
      where.push('logs_fts MATCH ?');
      args.push(words.map((w) => `"${w}"`).join(' '));
    }
    if (req.afterId !== undefined) (where.push(`${idCol} > ?`), args.push(req.afterId));
    if (req.beforeId !== undefined) (where.push(`${idCol} < ?`), args.push(req.beforeId));
    if (f.minLevel !== undefined && levelRank(f.minLevel) > 10) {
      const rank = levelRank(f.minLevel);
      // `level >= 40` as written lets the planner use the partial index of problems.
      if (rank >= WARN) where.push(`l.level >= ${WARN}`);
      where.push('l.level >= ?');
      args.push(rank);
    }
    if (f.taskId !== undefined) (where.push('l.task_id = ?'), args.push(f.taskId));
    if (f.workerId !== undefined) (where.push('l.worker_id = ?'), args.push(f.workerId));
    if (f.source !== undefined) (where.push('l.source = ?'), args.push(f.source));
    if (f.tenant !== undefined) (where.push('l.tenant = ?'), args.push(f.tenant));
    if (f.owners !== undefined) (where.push(`l.owner IN (${f.owners.map(() => '?').join(', ')})`), args.push(...f.owners));
    if (f.sinceTs !== undefined) (where.push('l.ts >= ?'), args.push(f.sinceTs));
    if (f.untilTs !== undefined) (where.push('l.ts < ?'), args.push(f.untilTs));
    const from = words.length > 0 ? 'logs_fts f JOIN logs l ON l.id = f.rowid' : 'logs l';
    const order = req.afterId !== undefined ? 'ASC' : 'DESC';
    const sql = `SELECT l.id, l.ts, l.level, l.source, l.worker_id, l.task_id, l.tenant, l.owner, l.msg FROM ${from}
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${idCol} ${order} LIMIT ?`;
    args.push(req.limit);
    return this.db.prepare<(string | number)[], Row>(sql).all(...args).map(toEntry);
  }

  /** Deletes lines older than the cutoff, then the oldest while over the byte bound, a chunk per transaction. */
  async prune(beforeTs: number): Promise<number> {
    this.flush();
    let total = 0;
    const chunk = (sql: string, ...args: number[]): number => {
      const gone = this.db
        .prepare<number[], { bytes: number | null; n: number }>(
          `SELECT SUM(length(msg) + length(source) + coalesce(length(task_id), 0) + coalesce(length(worker_id), 0) + 96) AS bytes, COUNT(*) AS n FROM (${sql})`,
        )
        .get(...args);
      if (!gone || gone.n === 0) return 0;
      this.db.prepare(`DELETE FROM logs WHERE id IN (SELECT id FROM (${sql}))`).run(...args);
      this.bytes -= gone.bytes ?? 0;
      return gone.n;
    };
    for (;;) {
      if (this.closed) return total;
      const n = chunk(`SELECT id, msg, source, task_id, worker_id FROM logs WHERE ts < ? ORDER BY ts LIMIT ${PRUNE_CHUNK}`, beforeTs);
      total += n;
      if (n < PRUNE_CHUNK) break;
      await new Promise((r) => setImmediate(r));
    }
    while (this.bytes > this.bounds.maxBytes && !this.closed) {
      // About enough of the oldest lines to get under the bound (a line is 96 bytes or more).
      const rows = Math.min(PRUNE_CHUNK, Math.ceil((this.bytes - this.bounds.maxBytes) / 512) + 1);
      const n = chunk(`SELECT id, msg, source, task_id, worker_id FROM logs ORDER BY id LIMIT ${rows}`);
      total += n;
      if (n === 0) break;
      await new Promise((r) => setImmediate(r));
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
