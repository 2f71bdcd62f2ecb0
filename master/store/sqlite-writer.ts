/**
 * The SQLite writer thread of the durable store: its own connection to the
 * same database (WAL: the master's thread keeps reading on another), one
 * transaction per batch, an ack per batch. Running the writes here keeps the
 * master's event loop free for scheduling and results (on 2 cores the writes
 * were ~40% of its CPU).
 *
 * The thread's code is a string evaluated by worker_threads, so it runs the
 * same from TypeScript sources (tests) and from dist/.
 */
import { SqliteThread } from './sqlite-thread.js';
import { FTS_TEXT_SQL } from './sqlite-task-search.js';

/** [id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state] */
export type InsertRow = [string, number, string, string, string | null, string | null, number, number | null, number, string | null, number | null, string, string | null];
/** [status, finished_at, attempt, worker_id, assigned_at, state, id] */
export type UpdateRow = [string, number | null, number, string | null, number | null, string | null, string];
/** [status, attempt, worker_id, assigned_at, id] */
export type StateRow = [string, number, string | null, number | null, string];

export interface WriteBatch {
  id: number;
  insert: InsertRow[];
  update: UpdateRow[];
  state: StateRow[];
  /** Delete up to `pruneChunkRows` finished tasks older than this (ms). */
  pruneBefore?: number;
}

export interface WriteAck {
  id: number;
  error?: string;
  pruned?: number;
}

/** The thread's part (store/sqlite-thread.ts gives it `db`, `workerData` and `handle`). */
const THREAD_SOURCE = `
const insert = db.prepare(\`INSERT INTO tasks (id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT(id) DO UPDATE SET seq=excluded.seq, status=excluded.status, finished_at=excluded.finished_at,
    attempt=excluded.attempt, worker_id=excluded.worker_id, assigned_at=excluded.assigned_at, record=excluded.record, state=excluded.state\`);
const update = db.prepare('UPDATE tasks SET status = ?, finished_at = ?, attempt = ?, worker_id = ?, assigned_at = ?, state = ? WHERE id = ?');
const state = db.prepare('UPDATE tasks SET status = ?, attempt = ?, worker_id = ?, assigned_at = ? WHERE id = ?');
// One chunk per message: batches posted meanwhile are written between chunks.
const prune = db.prepare('DELETE FROM tasks WHERE rowid IN (SELECT rowid FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?)');
// The search index (sqlite-task-search.ts): a task's text goes in once, when its row first becomes final.
// Here rather than in a trigger: a trigger's INSERT ... new.rowid cost ~14 us per task, a lookup and
// an INSERT ... VALUES ~6.
const ftsOpen = db.prepare(workerData.fts.ofRow);
const ftsNew = db.prepare(workerData.fts.ofNew);
const ftsInsert = db.prepare('INSERT INTO tasks_fts(rowid, input, output) VALUES (?, ?, ?)');
const rowOf = db.prepare('SELECT rowid, finished_at AS done FROM tasks WHERE id = ?');
function insertRow(r) {
  if (r[7] === null) return void insert.run(r);
  const before = rowOf.get(r[0]);
  const rowid = before ? before.rowid : insert.run(r).lastInsertRowid;
  if (before) insert.run(r);
  if (before && before.done !== null) return;
  const t = ftsNew.get({ record: r[11], state: r[12] });
  ftsInsert.run(rowid, t.i, t.o);
}
function updateRow(r) {
  if (r[1] === null) return void update.run(r);
  const t = ftsOpen.get({ id: r[6], state: r[5] });
  update.run(r);
  if (t && t.done === null) ftsInsert.run(t.rowid, t.i, t.o);
}
const write = db.transaction((b) => {
  for (const r of b.insert) insertRow(r);
  for (const r of b.update) updateRow(r);
  for (const r of b.state) state.run(r);
  return b.pruneBefore === undefined ? undefined : prune.run(b.pruneBefore, workerData.pruneChunkRows).changes;
});
handle = write;
`;

export class SqliteWriter {
  private readonly thread: SqliteThread<Omit<WriteBatch, 'id'>, number | undefined>;

  constructor(path: string, onFatal: (err: Error) => void, readonly pruneChunkRows = 5000) {
    this.thread = new SqliteThread(path, THREAD_SOURCE, { pruneChunkRows, fts: FTS_TEXT_SQL }, onFatal);
  }

  get busy(): boolean {
    return this.thread.busy;
  }

  write(batch: Omit<WriteBatch, 'id'>, done: (ack: WriteAck) => void): void {
    this.thread.send(batch, (ack) => done({ id: 0, error: ack.error, pruned: ack.value }));
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/**
 * Deletes finished tasks older than the cutoff in the writer thread, a chunk
 * per transaction (a minute of tasks at full speed is ~10^6 rows: one DELETE
 * would hold every commit for seconds), until a chunk is short or `stop()`.
 * Resolves with how many.
 */
export async function pruneInChunks(writer: SqliteWriter, finishedBeforeMs: number, stop: () => boolean): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await new Promise<number>((resolve) =>
      writer.write({ insert: [], update: [], state: [], pruneBefore: finishedBeforeMs }, (ack) => resolve(ack.pruned ?? 0)),
    );
    total += n;
    if (n < writer.pruneChunkRows || stop()) return total;
  }
}
