/**
 * Task search on the SQLite store: the indexes and the FTS5 table it needs
 * (created once, recorded in `meta` as `search_schema`, so the store's own
 * schema version is untouched), and the queries. Every query walks an index
 * in `seq` order and stops after a page (O(page)):
 *
 *   tasks_seq (seq)                    no filter
 *   tasks_by_status (status, seq)      status (one status; several are merged and sorted)
 *   tasks_by_kind (kind, seq)          kind
 *   tasks_by_worker (worker_id, seq)   worker
 *   tasks_by_model (model, seq)        model (json_extract of the requirement)
 *   tasks_session (session_id, seq)    session (the store's own index)
 *   tasks_by_created (created_at)      a time range becomes a seq range (seq grows with time)
 *   tasks_fts (input, output)          text: FTS5, contentless, rowid = the task row's rowid;
 *                                      the first 64 KiB of the input and of result + error
 *                                      of each finished task: one FTS insert per task, when
 *                                      its row first becomes final (by the writer thread,
 *                                      store/sqlite-writer.ts: a lookup and an INSERT ... VALUES,
 *                                      half the cost of a trigger; a delete trigger removes it)
 *
 * A page takes the fresher record of tasks whose write is pending (their
 * status on disk may lag by STATE_WRITE_DELAY_MS): O(page + pending writes). A text
 * search matches unfinished tasks by scanning those live records: they come
 * first, on the first page only. (Indexing input at submit too would cost a
 * second FTS write per task on the writer thread: `npm run bench -- search`.)
 */
import type Database from 'better-sqlite3';
import type { TaskRecord } from '../core/task-record.js';
import { deserialize, ROW, type Row } from './sqlite-rows.js';
import { decodeTaskCursor, encodeTaskCursor, matchesSearch, searchWords, type TaskSearchPage, type TaskSearchQuery } from './task-search.js';

export const SEARCH_SCHEMA = '3';
const MAX_TEXT = 65536;

/** The indexed text of a task: of its record (a column, `new.record` or a parameter) and of its final state. */
const inputText = (record: string) => `substr(coalesce(json_extract(${record}, '$.input'), ''), 1, ${MAX_TEXT})`;
const outputText = (state: string) =>
  `substr(coalesce(json_extract(${state}, '$.result'), '') || ' ' || coalesce(json_extract(${state}, '$.error.code'), '') || ' ' || coalesce(json_extract(${state}, '$.error.message'), ''), 1, ${MAX_TEXT})`;

/**
 * The writer thread's statements that index a task when its row first
 * becomes final (store/sqlite-writer.ts): the text of a row on disk (`@id`)
 * with its new state (`@state`), and of a row not yet written (`@record`, `@state`).
 */
export const FTS_TEXT_SQL = {
  ofRow: `SELECT rowid, finished_at AS done, ${inputText('record')} AS i, ${outputText('@state')} AS o FROM tasks WHERE id = @id`,
  ofNew: `SELECT ${inputText('@record')} AS i, ${outputText('@state')} AS o`,
};
const MODEL = `json_extract(record, '$.requirement.model')`;

/** Creates the search indexes, the FTS table and its triggers once, indexing the rows already there. */
export function ensureSearchSchema(db: Database.Database): void {
  const have = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('search_schema');
  if (have?.value === SEARCH_SCHEMA) return;
  db.transaction(() => {
    db.exec(`
      CREATE INDEX IF NOT EXISTS tasks_seq ON tasks(seq);
      CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks(status, seq);
      CREATE INDEX IF NOT EXISTS tasks_by_kind ON tasks(kind, seq);
      CREATE INDEX IF NOT EXISTS tasks_by_worker ON tasks(worker_id, seq) WHERE worker_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tasks_by_model ON tasks(${MODEL}, seq) WHERE ${MODEL} IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tasks_by_created ON tasks(created_at);
      DROP TRIGGER IF EXISTS tasks_fts_insert;
      DROP TRIGGER IF EXISTS tasks_fts_final;
      DROP TRIGGER IF EXISTS tasks_fts_delete;
      DROP TABLE IF EXISTS tasks_fts;
      CREATE VIRTUAL TABLE tasks_fts USING fts5(input, output, content='', contentless_delete=1);
      INSERT INTO tasks_fts(rowid, input, output) SELECT rowid, ${inputText('record')}, ${outputText('state')} FROM tasks WHERE finished_at IS NOT NULL;
      CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks WHEN old.finished_at IS NOT NULL BEGIN
        DELETE FROM tasks_fts WHERE rowid = old.rowid;
      END;
    `);
    db.prepare("INSERT INTO meta (key, value) VALUES ('search_schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(SEARCH_SCHEMA);
  })();
}

type PosRow = Row & { pos: number };
const T_ROW = ROW.split(', ').map((c) => `t.${c}`).join(', ');

export interface SearchSources {
  /** The store's cached record of a task (fresher than its row), if any. */
  fresh: (id: string) => TaskRecord | undefined;
  /** The unfinished tasks the store holds in memory (a text search scans them: they are not in the index yet). */
  live: () => Iterable<TaskRecord>;
  /** The tasks whose row on disk may be older than their record (a write pending), and how many. */
  pending: () => { tasks: Iterable<TaskRecord>; count: number };
}

export class SqliteTaskSearch {
  constructor(
    private readonly db: Database.Database,
    private readonly sources: SearchSources,
  ) {}

  search(q: TaskSearchQuery): TaskSearchPage {
    return q.text !== undefined ? this.text(q) : this.plain(q);
  }

  /** The filters as SQL over the task row `t` (everything but text and cursor). */
  private filters(q: TaskSearchQuery, where: string[], args: (string | number)[]): boolean {
    if (q.statuses) (where.push(`t.status IN (${q.statuses.map(() => '?').join(', ')})`), args.push(...q.statuses));
    if (q.kind !== undefined) (where.push('t.kind = ?'), args.push(q.kind));
    if (q.model !== undefined) (where.push(`json_extract(t.record, '$.requirement.model') = ?`), args.push(q.model));
    if (q.workerId !== undefined) (where.push('t.worker_id = ?'), args.push(q.workerId));
    if (q.priority !== undefined) (where.push(`coalesce(json_extract(t.record, '$.priority'), 0) = ?`), args.push(q.priority));
    if (q.sessionId !== undefined) (where.push('t.session_id = ?'), args.push(q.sessionId));
    if (q.tenant !== undefined) (where.push('t.tenant = ?'), args.push(q.tenant)); // generated column (store schema 3)
    if (q.owners !== undefined) (where.push(`json_extract(t.record, '$.owner') IN (${q.owners.map(() => '?').join(', ') || 'NULL'})`), args.push(...q.owners)); // a user key's own tasks (within its tenant's)
    if (q.createdSinceMs !== undefined) {
      const lo = this.firstSeqAt(q.createdSinceMs);
      if (lo === undefined) return false;
      where.push('t.seq >= ?', 't.created_at >= ?');
      args.push(lo, q.createdSinceMs);
    }
    if (q.createdUntilMs !== undefined) {
      const hi = this.firstSeqAt(q.createdUntilMs);
      if (hi !== undefined) (where.push('t.seq < ?'), args.push(hi));
      where.push('t.created_at < ?');
      args.push(q.createdUntilMs);
    }
    return true;
  }

  private firstSeqAt(ms: number): number | undefined {
    return this.db.prepare<[number], { seq: number }>('SELECT seq FROM tasks WHERE created_at >= ? ORDER BY created_at LIMIT 1').get(ms)?.seq;
  }

  private plain(q: TaskSearchQuery): TaskSearchPage {
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeTaskCursor(q.cursor, ['s']).position;
    const where: string[] = ['t.seq < ?'];
    const args: (string | number)[] = [before];
    if (!this.filters(q, where, args)) return { tasks: [], nextCursor: null };
    // O(page): a row differs from its task only while a write is pending; those tasks are checked
    // directly, and as many rows more are read, for rows whose task no longer matches.
    const pending = this.sources.pending();
    const fetch = q.limit + pending.count;
    args.push(fetch);
    const rows = this.db.prepare<(string | number)[], Row>(`SELECT ${T_ROW} FROM tasks t WHERE ${where.join(' AND ')} ORDER BY t.seq DESC LIMIT ?`).all(...args);
    const full = rows.length === fetch;
    // The window this page covers: [lowest row seen, before) when the page is full, else everything below `before`.
    const low = full ? rows.at(-1)!.seq : -1;
    const byId = new Map<string, TaskRecord>();
    for (const r of rows) {
      const t = this.sources.fresh(r.id) ?? deserialize(r);
      if (matchesSearch(t, q)) byId.set(t.id, t);
    }
    for (const t of pending.tasks) {
      if (t.seq < before && t.seq >= low && matchesSearch(t, q)) byId.set(t.id, t);
      else byId.delete(t.id);
    }
    const merged = [...byId.values()].sort((a, b) => b.seq - a.seq);
    const page = merged.slice(0, q.limit);
    const next = merged.length > q.limit ? page.at(-1)!.seq : full ? low : undefined;
    return { tasks: page, nextCursor: next === undefined ? null : encodeTaskCursor('s', next) };
  }

  private text(q: TaskSearchQuery): TaskSearchPage {
    const words = searchWords(q.text ?? '');
    if (words.length === 0) return { tasks: [], nextCursor: null };
    // Unfinished tasks are not in the text index (it holds finished ones): scanned in memory, first, on the first page.
    const live = q.cursor === undefined ? [...this.sources.live()].filter((t) => matchesSearch(t, q)).sort((a, b) => b.seq - a.seq) : [];
    if (live.length >= q.limit) return { tasks: live.slice(0, q.limit), nextCursor: encodeTaskCursor('f', Number.MAX_SAFE_INTEGER) };
    const limit = q.limit - live.length;
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeTaskCursor(q.cursor, ['f']).position;
    const where: string[] = ['tasks_fts MATCH ?', 'f.rowid < ?'];
    const args: (string | number)[] = [words.map((w) => `"${w}"`).join(' '), before];
    if (!this.filters(q, where, args)) return { tasks: live, nextCursor: null };
    args.push(limit);
    const rows = this.db
      .prepare<(string | number)[], PosRow>(`SELECT f.rowid AS pos, ${T_ROW} FROM tasks_fts f JOIN tasks t ON t.rowid = f.rowid WHERE ${where.join(' AND ')} ORDER BY f.rowid DESC LIMIT ?`)
      .all(...args);
    const noText = { ...q, text: undefined };
    const tasks: TaskRecord[] = [...live];
    for (const r of rows) {
      const t = this.sources.fresh(r.id) ?? deserialize(r);
      if (matchesSearch(t, noText)) tasks.push(t);
    }
    return { tasks, nextCursor: rows.length === limit ? encodeTaskCursor('f', rows.at(-1)!.pos) : null };
  }
}
