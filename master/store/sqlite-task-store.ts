/**
 * Durable task store on SQLite (better-sqlite3, WAL). Writes are grouped:
 * every put() in one event-loop turn is written in one transaction at the end
 * of the turn (group commit), and `commit()` / `afterCommit()` let callers
 * wait for it, so a submit is acknowledged only once it is on disk and a
 * final result is announced only once it is stored. WAL with
 * synchronous=NORMAL survives a killed process (kill -9); an OS crash may lose
 * the last transactions.
 *
 * Live tasks stay in memory, except queued ones put with `cold.putCold()`
 * (a big backlog: core/cold-tasks.ts), dropped once on disk and read back
 * (live again) when asked for; finished ones are read back from disk on
 * demand and deleted after the result TTL.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { isInitialState, type TaskRecord } from '../core/task-record.js';
import { HOT_QUEUED_MAX } from '../core/cold-tasks.js';
import { deserialize, ROW, type Row, serializeFixed, serializeState } from './sqlite-rows.js';
import { migrate, SCHEMA_VERSION } from './sqlite-schema.js';
import { pruneInChunks, SqliteWriter, type WriteBatch } from './sqlite-writer.js';
import type { ColdQueuedRow, ColdTaskStore, TaskStore } from './task-store.js';
import { DEFAULT_CACHE_MAX_BYTES } from './payload-bytes.js';
import { FinishedCache } from './finished-cache.js';
import { SqliteColdReads } from './sqlite-cold-reads.js';
import { BUSY_FLUSH_ROWS, DATA_DIR_MODE, DATA_FILE_MODE, MIN_COMMIT_SPACING_MS, type SqliteTaskStoreOptions } from './sqlite-task-store-options.js';
import { SqliteTaskLists } from './sqlite-task-lists.js';
import { DeferredStateWrites } from './deferred-state-writes.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { StoreFileCheck, StoreUnavailableError } from './store-file-check.js';
import { ensureSearchSchema, SqliteTaskSearch } from './sqlite-task-search.js';
import type { TaskSearchPage, TaskSearchQuery } from './task-search.js';

type Waiter = { resolve: () => void; reject: (err: Error) => void };

export { SCHEMA_VERSION };
export { DATA_DIR_MODE, DATA_FILE_MODE, STATE_WRITE_DELAY_MS, type SqliteTaskStoreOptions } from './sqlite-task-store-options.js';

export class SqliteTaskStore implements TaskStore {
  private readonly db: Database.Database;
  private readonly live = new Map<string, TaskRecord>();
  private readonly recentFinished: FinishedCache;
  private readonly idem = new Map<string, string>();
  /** New queued tasks to drop from memory once the batch holding them is on disk (putCold). */
  private toDrop: TaskRecord[] = [];
  private readonly coldReads: SqliteColdReads;
  readonly cold: ColdTaskStore = {
    putCold: (task) => {
      this.put(task);
      this.toDrop.push(task);
    },
    getMany: (ids) => this.getMany(ids),
    coldQueued: (): Iterable<ColdQueuedRow> => this.coldReads.coldQueued(),
  };
  /** Pending writes: a full row (create, final) or only the state columns (assign, start). */
  private readonly dirty = new Map<string, { task: TaskRecord; full: boolean }>();
  /** Told of every acknowledged group commit: seconds from hand-over to the writer's ack, rows (metrics). */
  onCommitted: ((seconds: number, rows: number) => void) | undefined;
  /** State-only writes waiting for STATE_WRITE_DELAY_MS, oldest first (performance.now() of the first change). */
  private readonly deferred = new DeferredStateWrites(
    (task) => {
      if (!this.dirty.has(task.id)) this.dirty.set(task.id, { task, full: false });
    },
    () => this.scheduleFlush(),
  );
  /** Batches handed to the writer thread and not yet acknowledged (their rows on disk may be older). */
  private readonly inflight = new Set<{ task: TaskRecord }[]>();
  private lastFlushAt = 0;
  private lastFlushRows = 0;
  /** Live ids already written once (later state changes can be light updates). */
  private readonly written = new Set<string>();
  private waiters: Waiter[] = [];
  /** Waiters of the batch the writer thread is writing now. */
  private inflightWaiters: Waiter[] | undefined;
  private failed: Error | undefined;
  private readonly fileCheck: StoreFileCheck;
  private readonly fileTimer: NodeJS.Timeout;
  private readonly onFatal: ((err: Error) => void) | undefined;
  private readonly writer: SqliteWriter;
  private flushScheduled = false;
  private closed = false;
  private readonly stmt: {
    get: Database.Statement<[string], Row>;
    byIdem: Database.Statement<[string], Row>;
    maxSeq: Database.Statement<[], { s: number | null }>;
    getMeta: Database.Statement<[string], { value: string }>;
    setMeta: Database.Statement<[string, string]>;
  };
  readonly stats = { transactions: 0, rows: 0 };
  private readonly searcher: SqliteTaskSearch;
  private readonly lists: SqliteTaskLists;

  /** Estimated bytes of the finished tasks' payloads held in memory (bounded by maxCachedFinishedBytes). */
  get cachedPayloadBytes(): number {
    return this.recentFinished.payloadBytes;
  }

  constructor(options: SqliteTaskStoreOptions) {
    const dir = dirname(options.path);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
      chmodSync(dir, DATA_DIR_MODE); // whatever the umask
    }
    this.onFatal = options.onFatal;
    this.recentFinished = new FinishedCache(options.maxCachedFinished ?? 10_000, options.maxCachedFinishedBytes ?? DEFAULT_CACHE_MAX_BYTES, (t) => {
      if (t.idempotencyKey && this.idem.get(t.idempotencyKey) === t.id) this.idem.delete(t.idempotencyKey);
    });
    const db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('temp_store = MEMORY');
    try {
      migrate(db);
      ensureSearchSchema(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
    for (const f of [options.path, `${options.path}-wal`, `${options.path}-shm`]) if (existsSync(f)) chmodSync(f, DATA_FILE_MODE);
    this.fileCheck = new StoreFileCheck(options.path);
    this.fileTimer = setInterval(() => this.checkFile(), options.fileCheckIntervalMs ?? 1000);
    this.fileTimer.unref();
    this.searcher = new SqliteTaskSearch(db, {
      fresh: (id) => this.live.get(id) ?? this.recentFinished.get(id),
      live: () => this.live.values(),
      pending: () => this.pendingWrites(),
    });
    this.writer = new SqliteWriter(options.path, (err) => this.fail(err.message), options.pruneChunkRows);
    this.stmt = {
      get: db.prepare(`SELECT ${ROW} FROM tasks WHERE id = ?`),
      byIdem: db.prepare(`SELECT ${ROW} FROM tasks WHERE idempotency_key = ?`),
      maxSeq: db.prepare('SELECT MAX(seq) AS s FROM tasks'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
    this.coldReads = new SqliteColdReads(db);
    this.lists = new SqliteTaskLists(db, {
      fresh: (id) => this.live.get(id) ?? this.recentFinished.get(id) ?? this.dirty.get(id)?.task,
      pending: () => this.pendingWrites(),
    });
  }

  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[] {
    return this.lists.list(filter);
  }

  bySession(sessionId: string, limit: number): TaskRecord[] {
    return this.lists.bySession(sessionId, limit);
  }

  /** Server-side search over every stored task (indexes and FTS5: sqlite-task-search.ts). */
  search(q: TaskSearchQuery): TaskSearchPage {
    return this.searcher.search(q);
  }

  /** Tasks whose row may be older than their record: in a batch the writer has not acknowledged, dirty, or a deferred state write (oldest first). */
  private pendingWrites(): { tasks: Iterable<TaskRecord>; count: number } {
    let count = this.dirty.size + this.deferred.size;
    for (const b of this.inflight) count += b.length;
    const { inflight, dirty, deferred } = this;
    function* tasks(): Generator<TaskRecord> {
      for (const b of inflight) for (const { task } of b) yield task;
      for (const { task } of dirty.values()) yield task;
      yield* deferred.tasks();
    }
    return { tasks: tasks(), count };
  }

  get(id: string): TaskRecord | undefined {
    const cached = this.live.get(id) ?? this.recentFinished.get(id) ?? this.dirty.get(id)?.task;
    if (cached) return cached;
    const row = this.stmt.get.get(id);
    return row ? this.fromDisk(row) : undefined;
  }

  /**
   * A task read from its row. An unfinished one not in memory is a queued
   * task kept on disk only (putCold): it is live again, so every later read
   * and change is of this one record.
   */
  private fromDisk(row: Row): TaskRecord {
    const t = deserialize(row);
    if (row.finished_at === null) this.register(t);
    return t;
  }

  private register(t: TaskRecord): void {
    this.written.add(t.id);
    this.live.set(t.id, t);
    if (t.idempotencyKey) this.idem.set(t.idempotencyKey, t.id);
  }

  private getMany(ids: readonly string[]): Map<string, TaskRecord> {
    const out = new Map<string, TaskRecord>();
    const missing: string[] = [];
    for (const id of ids) {
      const t = this.live.get(id) ?? this.dirty.get(id)?.task ?? this.recentFinished.get(id);
      if (t) out.set(id, t);
      else missing.push(id);
    }
    for (const r of this.coldReads.many(missing)) if (!out.has(r.id)) out.set(r.id, this.fromDisk(r));
    return out;
  }

  /** After a batch is on disk: its queued tasks put cold and still as submitted leave memory (get() reads them back). */
  private dropCold(tasks: readonly TaskRecord[]): void {
    for (const t of tasks) {
      if (this.live.get(t.id) !== t || this.dirty.has(t.id) || this.deferred.has(t.id) || !isInitialState(t)) continue;
      this.live.delete(t.id);
      this.written.delete(t.id);
      if (t.idempotencyKey && this.idem.get(t.idempotencyKey) === t.id) this.idem.delete(t.idempotencyKey);
    }
  }

  byIdempotencyKey(key: string): TaskRecord | undefined {
    const id = this.idem.get(key);
    if (id !== undefined) {
      const t = this.get(id);
      if (t) return t;
    }
    const row = this.stmt.byIdem.get(key);
    return row ? this.fromDisk(row) : undefined;
  }

  put(task: TaskRecord, change: 'full' | 'state' = 'full'): void {
    if (this.closed) return;
    if (change === 'state') {
      // Assigned / running of a live task: a write already pending covers it
      // (the flush reads the record as it is then); otherwise it is written
      // only if the attempt still runs STATE_WRITE_DELAY_MS later (see there).
      if (this.dirty.has(task.id)) return;
      if (this.written.has(task.id)) {
        this.deferred.add(task);
        return;
      }
    }
    if (TERMINAL_STATUSES.has(task.status)) {
      this.live.delete(task.id);
      this.recentFinished.add(task); // bounded by count and by bytes; the disk copy stays (get() reads it back)
    } else {
      this.live.set(task.id, task);
    }
    if (task.idempotencyKey) this.idem.set(task.idempotencyKey, task.id);
    this.deferred.delete(task.id);
    this.dirty.set(task.id, { task, full: true });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Group commit: at the end of this turn, or, right after another commit,
    // a moment later so that a busy master writes fewer, larger transactions.
    const sinceLast = performance.now() - this.lastFlushAt;
    if (this.lastFlushRows < BUSY_FLUSH_ROWS || sinceLast >= MIN_COMMIT_SPACING_MS) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), MIN_COMMIT_SPACING_MS - sinceLast).unref();
  }

  /** Writes everything pending in one transaction, then runs afterCommit callbacks. */
  flush(): void {
    this.flushScheduled = false;
    this.lastFlushAt = performance.now();
    if (this.closed || this.dirty.size === 0) return;
    const rows = [...this.dirty.values()];
    this.dirty.clear();
    const batch: Omit<WriteBatch, 'id'> = { insert: [], update: [], state: [] };
    for (const { task: t, full } of rows) {
      if (!full) batch.state.push([t.status, t.attempt, t.workerId, t.assignedAtMs, t.id]);
      else if (this.written.has(t.id)) batch.update.push([t.status, t.finishedAtMs, t.attempt, t.workerId, t.assignedAtMs, serializeState(t), t.id]);
      else {
        batch.insert.push([
          t.id, t.seq, t.status, t.kind, t.sessionId, t.idempotencyKey, t.createdAtMs, t.finishedAtMs,
          t.attempt, t.workerId, t.assignedAtMs, serializeFixed(t), serializeState(t),
        ]);
      }
      if (TERMINAL_STATUSES.has(t.status)) {
        this.written.delete(t.id);
        if (t.idempotencyKey && !this.recentFinished.has(t.id)) this.idem.delete(t.idempotencyKey);
      } else this.written.add(t.id);
    }
    this.lastFlushRows = rows.length;
    this.stats.transactions++;
    this.stats.rows += rows.length;
    // Callers that asked for this batch (commit / afterCommit) run when the writer confirms it.
    const waiters = this.waiters;
    this.waiters = [];
    const drop = this.toDrop;
    this.toDrop = [];
    this.inflightWaiters = waiters;
    const handedAt = performance.now();
    this.inflight.add(rows);
    this.writer.write(batch, (ack) => {
      this.inflight.delete(rows);
      if (!ack.error) this.onCommitted?.((performance.now() - handedAt) / 1000, rows.length);
      if (this.inflightWaiters === waiters) this.inflightWaiters = undefined;
      // Acknowledge only what is in the file on disk: a deleted or replaced
      // file takes the writes without error and loses them.
      if (!ack.error) this.checkFile();
      if (ack.error) this.fail(`write failed: ${ack.error}`);
      else if (drop.length > 0 && !this.failed) this.dropCold(drop);
      if (this.failed) {
        for (const w of waiters) w.reject(this.failed);
        return;
      }
      for (const w of waiters) w.resolve();
    });
  }

  /** Why the store can no longer keep writes (sticky), or undefined. */
  failure(): Error | undefined {
    return this.failed;
  }

  healthy(): boolean {
    return this.failed === undefined;
  }

  private checkFile(): void {
    if (this.failed || this.closed) return;
    const problem = this.fileCheck.problem();
    if (problem) this.fail(problem);
  }

  private fail(cause: string): void {
    if (this.failed) return;
    this.failed = new StoreUnavailableError(cause);
    clearInterval(this.fileTimer);
    this.onFatal?.(this.failed);
  }

  /** Resolves once everything put so far is on disk. */
  commit(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.afterCommitOr(resolve, reject));
  }

  afterCommit(fn: () => void): void {
    this.afterCommitOr(fn, () => undefined);
  }

  private afterCommitOr(resolve: () => void, reject: (err: Error) => void): void {
    if (this.dirty.size > 0) this.waiters.push({ resolve, reject });
    else if (this.inflightWaiters) this.inflightWaiters.push({ resolve, reject });
    else resolve();
  }


  /**
   * Tasks that were queued, assigned or running when the store was last
   * closed: every one in flight and the oldest `hotQueued` queued ones; the
   * queued rest once from `cold.coldQueued()` (core/cold-tasks.ts).
   */
  loadUnfinished(hotQueued = HOT_QUEUED_MAX): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const r of this.coldReads.unfinished(hotQueued)) {
      // A task already in memory is newer than its row: never replace it.
      if (this.live.has(r.id) || this.recentFinished.has(r.id)) continue;
      const t = deserialize(r);
      this.register(t);
      out.push(t);
    }
    return out;
  }

  maxSeq(): number {
    return this.stmt.maxSeq.get()?.s ?? 0;
  }

  private pruning: Promise<number> | undefined;

  /** Deletes finished tasks older than the cutoff in the writer thread, a chunk per transaction (pruneInChunks); resolves with how many. */
  prune(finishedBeforeMs: number): Promise<number> {
    this.recentFinished.forgetBefore(finishedBeforeMs);
    this.pruning ??= pruneInChunks(this.writer, finishedBeforeMs, () => this.closed).finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  getMeta(key: string): string | undefined {
    return this.stmt.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmt.setMeta.run(key, value);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.fileTimer);
    this.deferred.close();
    this.flush();
    this.closed = true;
    await this.writer.close();
    this.db.close();
  }
}
