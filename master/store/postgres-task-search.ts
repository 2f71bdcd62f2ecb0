/**
 * Task search on the PostgreSQL store (GET /api/v1/tasks, /tasks/export):
 * the same queries and cursors as the SQLite store's (sqlite-task-search.ts),
 * answered by the database through indexes instead of a scan of what the
 * master holds in memory. The indexes are created once per database
 * (`CREATE INDEX IF NOT EXISTS` under an advisory lock, recorded in `meta` as
 * `pg_search_schema`; the store's schema version is untouched):
 *
 *   tasks_search_seq (seq)                        no filter
 *   tasks_status_seq (status, seq)                status (the store's own)
 *   tasks_search_kind (kind, seq)                 kind
 *   tasks_search_worker (worker_id, seq)          worker
 *   tasks_search_model_col (model, seq)          model
 *   tasks_search_tenant_col (tenant, seq)        a tenant's listing (the scope filter)
 *   tasks_search_priority (priority, seq)         priority
 *   tasks_session (session_id, seq)               session (the store's own)
 *   tasks_search_created (created_at)             a time range becomes a seq range
 *   tasks_search_words GIN (search)              text, finished tasks: `search` is the tsvector of
 *                                                 the first 64 KiB of the input and of result + error
 *
 * tenant, model and search are columns the master writes (schema 2, postgres-schema.ts); search
 * schema 1 indexed expressions over the record's JSON instead, and 2 drops those indexes. priority
 * is one too (schema 3): until search schema 3 its filter read the JSON of every row (a sequential
 * scan), as an expression index over it would have parsed the JSON on every task write.
 *
 * A filtered page walks a (column, seq) index backwards and stops after a
 * page (O(page)). Text: the GIN index finds the matching finished rows; the
 * page is the newest of them (a top-N sort over the matches, so a very
 * common word costs more than on SQLite's FTS5, which walks in rowid order).
 *
 * Like SQLite, a page of unfinished tasks also holds the live records the
 * store has in memory (their row may lag), and a text search matches
 * unfinished tasks by scanning those live records, first, on the first page.
 */
import type pg from 'pg';
import type { TaskRecord } from '../core/task-record.js';
import { deserialize, ROW, type Row } from './sqlite-rows.js';
import { SEARCH_TEXT_MAX } from './postgres-schema.js';
import { decodeTaskCursor, encodeTaskCursor, matchesSearch, searchWords, textOf, type TaskSearchPage, type TaskSearchQuery } from './task-search.js';
import { inLockedTransaction } from './postgres-locked.js';

export const PG_SEARCH_SCHEMA = '3';
/** Key of the advisory lock held while creating the indexes ("srch"). */
const SEARCH_LOCK = 0x73726368;

/**
 * The text a finished task's `search` column is made of (to_tsvector in the statement that
 * writes the row): its input, then result and error, each part cut to SEARCH_TEXT_MAX (the same
 * parts as SQLite's FTS5 table); null while the task is not final.
 */
export function pgSearchText(t: TaskRecord): string | null {
  if (t.finishedAtMs === null) return null;
  const output = `${textOf(t.result)} ${t.error ? `${t.error.code} ${t.error.message}` : ''}`;
  return `${textOf(t.input).slice(0, SEARCH_TEXT_MAX)} ${output.slice(0, SEARCH_TEXT_MAX)}`;
}

/** What a query runs on (a pool or a client). The expressions name the columns unqualified: they must read exactly as in the indexes. */
export interface PgQueryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Creates the search indexes once per database (a no-op once `meta` records this version). */
export async function ensurePostgresSearchSchema(client: pg.ClientBase): Promise<void> {
  const have = await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'pg_search_schema'`);
  if (have.rows[0]?.value === PG_SEARCH_SCHEMA) return;
  await inLockedTransaction(client, SEARCH_LOCK, async () => {
    await client.query(`
      CREATE INDEX IF NOT EXISTS tasks_search_seq ON tasks (seq);
      CREATE INDEX IF NOT EXISTS tasks_search_kind ON tasks (kind, seq);
      CREATE INDEX IF NOT EXISTS tasks_search_worker ON tasks (worker_id, seq) WHERE worker_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tasks_search_model_col ON tasks (model, seq) WHERE model IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tasks_search_tenant_col ON tasks (tenant, seq);
      CREATE INDEX IF NOT EXISTS tasks_search_priority ON tasks (priority, seq);
      CREATE INDEX IF NOT EXISTS tasks_search_created ON tasks (created_at);
      CREATE INDEX IF NOT EXISTS tasks_search_words ON tasks USING gin (search) WHERE finished_at IS NOT NULL;
      DROP INDEX IF EXISTS tasks_search_model;
      DROP INDEX IF EXISTS tasks_search_tenant;
      DROP INDEX IF EXISTS tasks_search_text;
    `);
    await client.query(`INSERT INTO meta (key, value) VALUES ('pg_search_schema', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [PG_SEARCH_SCHEMA]);
  });
}

export interface PgSearchSources {
  /** The store's record of a task in memory (fresher than its row), if any. */
  fresh: (id: string) => TaskRecord | undefined;
  /** The unfinished tasks the store holds in memory. */
  live: () => Iterable<TaskRecord>;
}

type PosRow = Row & { pos: number };
const T_ROW = ROW.split(', ').map((c) => `t.${c}`).join(', ');

export class PostgresTaskSearch {
  constructor(
    private readonly db: PgQueryable,
    private readonly sources: PgSearchSources,
  ) {}

  search(q: TaskSearchQuery): Promise<TaskSearchPage> {
    return q.text !== undefined ? this.text(q) : this.plain(q);
  }

  /** The filters as SQL over the task row `t` (everything but text and cursor); false: nothing can match. */
  private async filters(q: TaskSearchQuery, where: string[], args: unknown[]): Promise<boolean> {
    const arg = (v: unknown) => (args.push(v), `$${args.length}`);
    if (q.statuses) where.push(`t.status = ANY(${arg([...q.statuses])}::text[])`);
    if (q.kind !== undefined) where.push(`t.kind = ${arg(q.kind)}`);
    if (q.model !== undefined) where.push(`t.model = ${arg(q.model)}`);
    if (q.workerId !== undefined) where.push(`t.worker_id = ${arg(q.workerId)}`);
    if (q.priority !== undefined) where.push(`t.priority = ${arg(q.priority)}`);
    if (q.sessionId !== undefined) where.push(`t.session_id = ${arg(q.sessionId)}`);
    if (q.tenant !== undefined) where.push(`t.tenant = ${arg(q.tenant)}`);
    if (q.owners !== undefined) where.push(`(t.record::jsonb ->> 'owner') = ANY(${arg([...q.owners])}::text[])`); // a user key's own tasks (within its tenant's)
    if (q.createdSinceMs !== undefined) {
      const lo = await this.firstSeqAt(q.createdSinceMs);
      if (lo === undefined) return false;
      where.push(`t.seq >= ${arg(lo)}`, `t.created_at >= ${arg(q.createdSinceMs)}`);
    }
    if (q.createdUntilMs !== undefined) {
      const hi = await this.firstSeqAt(q.createdUntilMs);
      if (hi !== undefined) where.push(`t.seq < ${arg(hi)}`);
      where.push(`t.created_at < ${arg(q.createdUntilMs)}`);
    }
    return true;
  }

  /** seq grows with creation time: a time bound becomes the seq of the first task created at or after it. */
  private async firstSeqAt(ms: number): Promise<number | undefined> {
    const r = await this.db.query<{ seq: number }>('SELECT seq FROM tasks WHERE created_at >= $1 ORDER BY created_at LIMIT 1', [ms]);
    return r.rows[0]?.seq;
  }

  private async plain(q: TaskSearchQuery): Promise<TaskSearchPage> {
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeTaskCursor(q.cursor, ['s']).position;
    const args: unknown[] = [before];
    const where: string[] = ['t.seq < $1'];
    if (!(await this.filters(q, where, args))) return { tasks: [], nextCursor: null };
    args.push(q.limit);
    const { rows } = await this.db.query<Row>(`SELECT ${T_ROW} FROM tasks t WHERE ${where.join(' AND ')} ORDER BY t.seq DESC LIMIT $${args.length}`, args);
    const full = rows.length === q.limit;
    // The window this page covers: [lowest row seen, before) when the page is full, else everything below `before`.
    const low = full ? rows.at(-1)!.seq : -1;
    const byId = new Map<string, TaskRecord>();
    for (const r of rows) {
      const t = this.sources.fresh(r.id) ?? deserialize(r);
      if (matchesSearch(t, q)) byId.set(t.id, t);
    }
    for (const t of this.sources.live()) if (t.seq < before && t.seq >= low && matchesSearch(t, q)) byId.set(t.id, t);
    const merged = [...byId.values()].sort((a, b) => b.seq - a.seq);
    const page = merged.slice(0, q.limit);
    const next = merged.length > q.limit ? page.at(-1)!.seq : full ? low : undefined;
    return { tasks: page, nextCursor: next === undefined ? null : encodeTaskCursor('s', next) };
  }

  private async text(q: TaskSearchQuery): Promise<TaskSearchPage> {
    const words = searchWords(q.text ?? '');
    if (words.length === 0) return { tasks: [], nextCursor: null };
    // Unfinished tasks are not in the text index (it holds finished ones): scanned in memory, first, on the first page.
    const live = q.cursor === undefined ? [...this.sources.live()].filter((t) => matchesSearch(t, q)).sort((a, b) => b.seq - a.seq) : [];
    if (live.length >= q.limit) return { tasks: live.slice(0, q.limit), nextCursor: encodeTaskCursor('f', Number.MAX_SAFE_INTEGER) };
    const limit = q.limit - live.length;
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeTaskCursor(q.cursor, ['f']).position;
    // Each word as its own phrase (a word the parser splits, like `a_b`, must occur as written).
    const args: unknown[] = [words.map((w) => `(${w.replace(/[^\p{L}\p{N}]+/gu, ' ').trim().split(/\s+/).join(' <-> ')})`).join(' & '), before];
    const where: string[] = [`t.search @@ to_tsquery('simple', $1)`, 't.finished_at IS NOT NULL', 't.seq < $2'];
    if (!(await this.filters(q, where, args))) return { tasks: live, nextCursor: null };
    args.push(limit);
    const { rows } = await this.db.query<PosRow>(`SELECT t.seq AS pos, ${T_ROW} FROM tasks t WHERE ${where.join(' AND ')} ORDER BY t.seq DESC LIMIT $${args.length}`, args);
    const noText = { ...q, text: undefined };
    const tasks: TaskRecord[] = [...live];
    for (const r of rows) {
      const t = this.sources.fresh(r.id) ?? deserialize(r);
      if (matchesSearch(t, noText)) tasks.push(t);
    }
    return { tasks, nextCursor: rows.length === limit ? encodeTaskCursor('f', rows.at(-1)!.pos) : null };
  }
}
