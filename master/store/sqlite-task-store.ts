/**
 * Durable task store on SQLite (better-sqlite3, WAL). Writes are grouped:
 * every put() in one event-loop turn is written in one transaction at the end
 * of the turn (group commit), and `commit()` / `afterCommit()` let callers
 * wait for it, so a submit is acknowledged only once it is on disk and a
 * final result is announced only once it is stored. WAL with
 * synchronous=NORMAL survives a killed process (kill -9); an OS crash may lose
 * the last transactions.
 *
 * Live tasks stay in memory; finished ones are read back from disk on demand
 * and deleted after the result TTL.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { TaskRecord } from '../core/task-record.js';
import { deserialize, ROW, type Row, serializeFixed, serializeState } from './sqlite-rows.js';
import { migrate, SCHEMA_VERSION } from './sqlite-schema.js';
import { SqliteWriter, type WriteBatch } from './sqlite-writer.js';
import type { TaskStore } from './task-store.js';
import { Fifo } from '../core/fifo.js';
import { approxPayloadBytes, DEFAULT_CACHE_MAX_BYTES } from './payload-bytes.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { StoreFileCheck, StoreUnavailableError } from './store-file-check.js';
import { ensureSearchSchema, SqliteTaskSearch } from './sqlite-task-search.js';
import type { TaskSearchPage, TaskSearchQuery } from './task-search.js';

type Waiter = { resolve: () => void; reject: (err: Error) => void };

/**
 * An attempt's assigned/running state is written only once the attempt has
 * lasted this long (ms): most attempts finish first, and their final row
 * covers it. The state lets a restarted master adopt attempts still running
 * on their workers; without it a task is restored queued and re-run (at least
 * once still holds, and results stay fenced). So a master crash re-runs at
 * most the attempts of its last half second, and short tasks cost one insert
 * and one update. (Temporal likewise writes ActivityTaskStarted to history only when the activity closes.)
 */
export const STATE_WRITE_DELAY_MS = 500;
/** Least time between two commits under load (a lone write still commits at once). */
const MIN_COMMIT_SPACING_MS = 2;
/** A commit of at least this many rows means "busy": space the next one. */
const BUSY_FLUSH_ROWS = 32;

export interface SqliteTaskStoreOptions {
  path: string;
  /** Called if the writer thread fails: durability is lost, the master should stop. */
  onFatal?: (err: Error) => void;
  /** Finished tasks kept in memory besides the disk copy (default 10000). */
  maxCachedFinished?: number;
  /** Bytes of finished tasks' input and result kept in memory (default 256 MiB); older ones are read back from disk. */
  maxCachedFinishedBytes?: number;
  /** Rows deleted per pruning transaction (default 5000), so writes are never held up for long. */
  pruneChunkRows?: number;
  /** How often the database file is checked while idle, ms (default 1000; it is also checked before every acknowledged commit). */
  fileCheckIntervalMs?: number;
}

/** Owner-only modes: the database holds the cluster token, the result-token key and every input and result. */
export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;

export { SCHEMA_VERSION };

export class SqliteTaskStore implements TaskStore {
  private readonly db: Database.Database;
  private readonly live = new Map<string, TaskRecord>();
  private readonly recentFinished = new Map<string, TaskRecord>();
  private readonly finishedOrder = new Fifo<string>();
  private readonly idem = new Map<string, string>();
  /** Pending writes: a full row (create, final) or only the state columns (assign, start). */
  private readonly dirty = new Map<string, { task: TaskRecord; full: boolean }>();
  /** Told of every acknowledged group commit: seconds from hand-over to the writer's ack, rows (metrics). */
  onCommitted: ((seconds: number, rows: number) => void) | undefined;
  /** State-only writes waiting for STATE_WRITE_DELAY_MS, oldest first (performance.now() of the first change). */
  private readonly deferred = new Map<string, { task: TaskRecord; since: number }>();
  /** Batches handed to the writer thread and not yet acknowledged (their rows on disk may be older). */
  private readonly inflight = new Set<{ task: TaskRecord }[]>();
  private deferTimer: NodeJS.Timeout | undefined;
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
  private readonly maxCachedFinished: number;
  private readonly maxCachedFinishedBytes: number;
  /** Estimated payload bytes of each cached finished task, and their sum. */
  private readonly cachedBytes = new Map<string, number>();
  private cachedBytesTotal = 0;
  private readonly stmt: {
    get: Database.Statement<[string], Row>;
    byIdem: Database.Statement<[string], Row>;
    unfinished: Database.Statement<[], Row>;
    maxSeq: Database.Statement<[], { s: number | null }>;
    bySession: Database.Statement<[string, number], Row>;
    list: Database.Statement<[number], Row>;
    listStatus: Database.Statement<[string, number], Row>;
    listTenant: Database.Statement<[string, number], Row>;
    listTenantStatus: Database.Statement<[string, string, number], Row>;
    getMeta: Database.Statement<[string], { value: string }>;
    setMeta: Database.Statement<[string, string]>;
  };
  readonly stats = { transactions: 0, rows: 0 };
  private readonly searcher: SqliteTaskSearch;

  /** Estimated bytes of the finished tasks' payloads held in memory (bounded by maxCachedFinishedBytes). */
  get cachedPayloadBytes(): number {
    return this.cachedBytesTotal;
  }

  constructor(options: SqliteTaskStoreOptions) {
    const dir = dirname(options.path);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
      chmodSync(dir, DATA_DIR_MODE); // whatever the umask
    }
    this.onFatal = options.onFatal;
    this.maxCachedFinished = options.maxCachedFinished ?? 10_000;
    this.maxCachedFinishedBytes = options.maxCachedFinishedBytes ?? DEFAULT_CACHE_MAX_BYTES;
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
      unfinished: db.prepare(
        `SELECT ${ROW} FROM tasks WHERE finished_at IS NULL ORDER BY seq`,
      ),
      maxSeq: db.prepare('SELECT MAX(seq) AS s FROM tasks'),
      bySession: db.prepare(`SELECT ${ROW} FROM tasks WHERE session_id = ? ORDER BY seq DESC LIMIT ?`),
      list: db.prepare(`SELECT ${ROW} FROM tasks ORDER BY rowid DESC LIMIT ?`),
      listStatus: db.prepare(`SELECT ${ROW} FROM tasks WHERE status = ? ORDER BY seq DESC LIMIT ?`),
      listTenant: db.prepare(`SELECT ${ROW} FROM tasks WHERE tenant = ? ORDER BY seq DESC LIMIT ?`),
      listTenantStatus: db.prepare(`SELECT ${ROW} FROM tasks WHERE tenant = ? AND status = ? ORDER BY seq DESC LIMIT ?`),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
  }

  get(id: string): TaskRecord | undefined {
    const cached = this.live.get(id) ?? this.recentFinished.get(id) ?? this.dirty.get(id)?.task;
    if (cached) return cached;
    const row = this.stmt.get.get(id);
    return row ? deserialize(row) : undefined;
  }

  byIdempotencyKey(key: string): TaskRecord | undefined {
    const id = this.idem.get(key);
    if (id !== undefined) {
      const t = this.get(id);
      if (t) return t;
    }
    const row = this.stmt.byIdem.get(key);
    return row ? deserialize(row) : undefined;
  }

  put(task: TaskRecord, change: 'full' | 'state' = 'full'): void {
    if (this.closed) return;
    if (change === 'state') {
      // Assigned / running of a live task: a write already pending covers it
      // (the flush reads the record as it is then); otherwise it is written
      // only if the attempt still runs STATE_WRITE_DELAY_MS later (see there).
      if (this.dirty.has(task.id)) return;
      if (this.written.has(task.id)) {
        if (!this.deferred.has(task.id)) {
          this.deferred.set(task.id, { task, since: performance.now() });
          this.armDeferTimer();
        }
        return;
      }
    }
    if (TERMINAL_STATUSES.has(task.status)) {
      this.live.delete(task.id);
      if (!this.recentFinished.has(task.id)) this.finishedOrder.push(task.id);
      this.recentFinished.set(task.id, task);
      const bytes = approxPayloadBytes(task.input) + approxPayloadBytes(task.result);
      this.cachedBytesTotal += bytes - (this.cachedBytes.get(task.id) ?? 0);
      this.cachedBytes.set(task.id, bytes);
      // Bounded by count and by bytes; the disk copy stays (get() reads it back).
      while (this.recentFinished.size > this.maxCachedFinished || (this.cachedBytesTotal > this.maxCachedFinishedBytes && this.recentFinished.size > 1)) {
        this.forgetFinished(this.finishedOrder.shift()!);
      }
    } else {
      this.live.set(task.id, task);
    }
    if (task.idempotencyKey) this.idem.set(task.idempotencyKey, task.id);
    this.deferred.delete(task.id);
    this.dirty.set(task.id, { task, full: true });
    this.scheduleFlush();
  }

  /** Drops a finished task from memory (it stays on disk until pruned). */
  private forgetFinished(id: string): void {
    const t = this.recentFinished.get(id);
    if (!t) return;
    this.recentFinished.delete(id);
    this.cachedBytesTotal -= this.cachedBytes.get(id) ?? 0;
    this.cachedBytes.delete(id);
    if (t.idempotencyKey && this.idem.get(t.idempotencyKey) === id) this.idem.delete(t.idempotencyKey);
  }

  private armDeferTimer(): void {
    if (this.deferTimer || this.closed) return;
    const oldest = this.deferred.values().next().value;
    if (!oldest) return;
    // At least a quarter of the delay between timer runs: a busy master
    // writes due states in batches, not one timer per task.
    const wait = Math.max(oldest.since + STATE_WRITE_DELAY_MS - performance.now(), STATE_WRITE_DELAY_MS / 4);
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      this.writeDueStates(performance.now() - STATE_WRITE_DELAY_MS);
      this.armDeferTimer();
    }, wait);
    this.deferTimer.unref();
  }

  /** Moves the state writes deferred before `cutoff` (all when omitted) to the next commit. */
  private writeDueStates(cutoff = Infinity): void {
    let moved = false;
    for (const [id, { task, since }] of this.deferred) {
      if (since > cutoff) break;
      this.deferred.delete(id);
      if (!this.dirty.has(id)) this.dirty.set(id, { task, full: false });
      moved = true;
    }
    if (moved) this.scheduleFlush();
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

  /** DB rows merged with cached records (the writer thread may not have committed the newest yet). */
  /**
   * A page of the rows a query finds, newest first, with the fresher record
   * of each task held in memory. O(page), never O(backlog): a row on disk
   * differs from its task only while a write of that task is pending (in
   * `dirty`, a state write in `deferred`, or a batch the writer thread has
   * not acknowledged), so those are checked too, and the query fetches that
   * many rows more, for rows whose task no longer matches.
   */
  private merge(query: (limit: number) => Row[], matches: (t: TaskRecord) => boolean, limit: number): TaskRecord[] {
    const pending = this.pendingWrites();
    const byId = new Map<string, TaskRecord>();
    for (const r of query(limit + pending.count)) {
      const t = this.live.get(r.id) ?? this.recentFinished.get(r.id) ?? this.dirty.get(r.id)?.task ?? deserialize(r);
      if (matches(t)) byId.set(t.id, t);
    }
    for (const task of pending.tasks) {
      if (matches(task)) byId.set(task.id, task);
      else byId.delete(task.id);
    }
    return [...byId.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  /** Tasks whose row may be older than their record: in a batch the writer has not acknowledged, dirty, or a deferred state write (oldest first). */
  private pendingWrites(): { tasks: Iterable<TaskRecord>; count: number } {
    let count = this.dirty.size + this.deferred.size;
    for (const b of this.inflight) count += b.length;
    const { inflight, dirty, deferred } = this;
    function* tasks(): Generator<TaskRecord> {
      for (const b of inflight) for (const { task } of b) yield task;
      for (const { task } of dirty.values()) yield task;
      for (const { task } of deferred.values()) yield task;
    }
    return { tasks: tasks(), count };
  }

  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[] {
    const { status, tenant, limit } = filter;
    const query = (n: number) =>
      tenant !== undefined
        ? status ? this.stmt.listTenantStatus.all(tenant, status, n) : this.stmt.listTenant.all(tenant, n)
        : status ? this.stmt.listStatus.all(status, n) : this.stmt.list.all(n);
    return this.merge(query, (t) => (!status || t.status === status) && (tenant === undefined || t.tenant === tenant), limit);
  }

  /** Server-side search over every stored task (indexes and FTS5: sqlite-task-search.ts). */
  search(q: TaskSearchQuery): TaskSearchPage {
    return this.searcher.search(q);
  }

  bySession(sessionId: string, limit: number): TaskRecord[] {
    return this.merge((n) => this.stmt.bySession.all(sessionId, n), (t) => t.sessionId === sessionId, limit);
  }

  /** Tasks that were queued, assigned or running when the store was last closed. */
  loadUnfinished(): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const r of this.stmt.unfinished.all()) {
      // A task already in memory is newer than its row: never replace it.
      if (this.live.has(r.id) || this.recentFinished.has(r.id)) continue;
      const t = deserialize(r);
      this.written.add(t.id);
      this.live.set(t.id, t);
      if (t.idempotencyKey) this.idem.set(t.idempotencyKey, t.id);
      out.push(t);
    }
    return out;
  }

  maxSeq(): number {
    return this.stmt.maxSeq.get()?.s ?? 0;
  }

  private pruning: Promise<number> | undefined;

  /**
   * Deletes finished tasks older than the cutoff, in the writer thread, a
   * chunk per transaction (a minute of tasks at full speed is ~10^6 rows:
   * one DELETE would hold every commit for seconds). Resolves with how many.
   */
  prune(finishedBeforeMs: number): Promise<number> {
    for (const [id, t] of this.recentFinished) if ((t.finishedAtMs ?? 0) < finishedBeforeMs) this.forgetFinished(id);
    this.pruning ??= (async () => {
      let total = 0;
      for (;;) {
        const n = await new Promise<number>((resolve) =>
          this.writer.write({ insert: [], update: [], state: [], pruneBefore: finishedBeforeMs }, (ack) => resolve(ack.pruned ?? 0)),
        );
        total += n;
        if (n < this.writer.pruneChunkRows || this.closed) return total;
      }
    })().finally(() => (this.pruning = undefined));
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
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.writeDueStates();
    this.flush();
    this.closed = true;
    await this.writer.close();
    this.db.close();
  }
}
