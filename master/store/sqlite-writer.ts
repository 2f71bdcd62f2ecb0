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
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
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

const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
// Statement journals and sorts in memory: a batch's statements spilled ~35 KB per task to /var/tmp files.
db.pragma('temp_store = MEMORY');
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
parentPort.on('message', (b) => {
  if (b === 'close') { db.close(); parentPort.close(); return; }
  try {
    const pruned = write(b);
    parentPort.postMessage({ id: b.id, pruned });
  } catch (err) {
    parentPort.postMessage({ id: b.id, error: String(err && err.message || err) });
  }
});
`;

export class SqliteWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (ack: WriteAck) => void>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(path: string, onFatal: (err: Error) => void, readonly pruneChunkRows = 5000) {
    const require = createRequire(import.meta.url);
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { path, module: require.resolve('better-sqlite3'), pruneChunkRows, fts: FTS_TEXT_SQL } });
    this.worker.on('message', (ack: WriteAck) => {
      const done = this.pending.get(ack.id);
      this.pending.delete(ack.id);
      done?.(ack);
    });
    const fail = (err: Error) => {
      if (this.failure) return;
      this.failure = err;
      for (const done of this.pending.values()) done({ id: 0, error: err.message });
      this.pending.clear();
      onFatal(err);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0 || code !== 0) fail(new Error(`SQLite writer thread exited (code ${code})`));
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  write(batch: Omit<WriteBatch, 'id'>, done: (ack: WriteAck) => void): void {
    if (this.failure) {
      done({ id: 0, error: this.failure.message });
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, done);
    this.worker.postMessage({ ...batch, id });
  }

  async close(): Promise<void> {
    while (this.pending.size > 0 && !this.failure) await new Promise((r) => setTimeout(r, 2));
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
  }
}
