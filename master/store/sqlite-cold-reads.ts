/**
 * The SQLite store's reads for compact queue entries (core/cold-tasks.ts):
 * many tasks by id in one statement, and at start the unfinished tasks split
 * into the records to restore (every attempt in flight, the oldest
 * `hotQueued` queued tasks) and the queued rest as scheduling fields only,
 * read a row at a time (never a record or an array per queued task).
 */
import type Database from 'better-sqlite3';
import { ROW, type Row } from './sqlite-rows.js';
import type { ColdQueuedRow } from './task-store.js';

export class SqliteColdReads {
  private readonly stmt: {
    many: Database.Statement<[string], Row>;
    cut: Database.Statement<[number], { seq: number }>;
    unfinished: Database.Statement<[number], Row>;
    cold: Database.Statement<[number], ColdQueuedRow>;
  };
  /** Queued tasks with a seq above it were left on disk by `unfinished()`; undefined: none. */
  private coldAbove: number | undefined;

  constructor(db: Database.Database) {
    this.stmt = {
      many: db.prepare(`SELECT ${ROW} FROM tasks WHERE id IN (SELECT value FROM json_each(?))`),
      cut: db.prepare(`SELECT seq FROM tasks WHERE finished_at IS NULL AND status = 'queued' ORDER BY seq LIMIT 1 OFFSET ?`),
      unfinished: db.prepare(`SELECT ${ROW} FROM tasks WHERE finished_at IS NULL AND (status != 'queued' OR seq <= ?) ORDER BY seq`),
      cold: db.prepare(
        `SELECT id, seq, coalesce(json_extract(record, '$.priority'), 0) AS priority, json_extract(record, '$.requirement') AS requirement,
          tenant, json_extract(record, '$.owner') AS owner, session_id AS sessionId, created_at AS createdAtMs,
          coalesce(json_extract(record, '$.queueTimeoutMs'), 0) AS queueTimeoutMs
         FROM tasks WHERE finished_at IS NULL AND status = 'queued' AND seq > ? ORDER BY seq`,
      ),
    };
  }

  /** Rows of these ids (any order), one statement. */
  many(ids: readonly string[]): Row[] {
    return ids.length === 0 ? [] : this.stmt.many.all(JSON.stringify(ids));
  }

  /** The unfinished rows to restore as records: every one not queued and the oldest `hotQueued` queued ones. */
  unfinished(hotQueued: number): Row[] {
    const cut = this.stmt.cut.get(hotQueued)?.seq;
    this.coldAbove = cut === undefined ? undefined : cut - 1;
    return this.stmt.unfinished.all(this.coldAbove ?? Number.MAX_SAFE_INTEGER);
  }

  /** Once after `unfinished()`: the queued rows it left, oldest first, read one at a time. */
  *coldQueued(): Generator<ColdQueuedRow> {
    const above = this.coldAbove;
    this.coldAbove = undefined;
    if (above === undefined) return;
    yield* this.stmt.cold.iterate(above);
  }
}
