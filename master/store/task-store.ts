/**
 * Where task records live. The in-memory store keeps every unfinished task
 * and the most recent finished ones (bounded). A durable store implements the
 * same interface.
 */
import type { TaskRecord } from '../core/task-record.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { Fifo } from '../core/fifo.js';
import { approxPayloadBytes, DEFAULT_CACHE_MAX_BYTES } from './payload-bytes.js';
import type { TaskSearchPage, TaskSearchQuery } from './task-search.js';

/** What `preload` reads into a store's cache: a task by id, by idempotency key, or a session's newest tasks. */
export interface StorePreload {
  id?: string;
  idempotencyKey?: string;
  sessionId?: string;
  limit?: number;
}

/** A queued task's scheduling fields, as a store restores it without its record (core/cold-tasks.ts). */
export interface ColdQueuedRow {
  id: string;
  seq: number;
  priority: number;
  /** The requirement's JSON text. */
  requirement: string;
  tenant: string;
  owner: string | null;
  sessionId: string | null;
  createdAtMs: number;
  queueTimeoutMs: number;
}

/**
 * A store that keeps queued tasks on disk and reads them back synchronously
 * (SQLite): the core then queues a big backlog as compact entries
 * (core/cold-tasks.ts). The memory store has none (nothing on disk to read
 * back), nor PostgreSQL (its reads are asynchronous): full records there.
 */
export interface ColdTaskStore {
  /** put() of a new task whose record the store drops from memory once it is on disk (if still as submitted). */
  putCold(task: TaskRecord): void;
  /** The unfinished tasks of these ids, read in one statement (records in memory as they are); each is live in the store again. */
  getMany(ids: readonly string[]): Map<string, TaskRecord>;
  /** Once, after loadUnfinished(): the queued tasks it left on disk (past `hotQueued`), oldest first. */
  coldQueued(): Iterable<ColdQueuedRow>;
}

export interface TaskStore {
  /** Present when the store can hold queued tasks on disk only (see ColdTaskStore). */
  readonly cold?: ColdTaskStore;
  get(id: string): TaskRecord | undefined;
  byIdempotencyKey(key: string): TaskRecord | undefined;
  /**
   * Called after every change of a record (create included). `state` means
   * only status / attempt / worker / assigned time changed (a durable store
   * may write just those).
   */
  put(task: TaskRecord, change?: 'full' | 'state'): void;
  /** Resolves once every put so far is durable. */
  commit(): Promise<void>;
  /** Runs fn once every put so far is durable (at once for a memory store). */
  afterCommit(fn: () => void): void;
  /** Newest first; only tasks of `tenant` when given (a tenant-scoped listing). */
  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[];
  /**
   * Server-side search, newest first with an opaque cursor (task-search.ts).
   * Optional: without it the API scans `list()` (what a memory store holds).
   * SQLite answers at once; PostgreSQL with a query (postgres-task-search.ts).
   */
  search?(q: TaskSearchQuery): TaskSearchPage | Promise<TaskSearchPage>;
  /** Most recent tasks of a browser session, newest first. */
  bySession(sessionId: string, limit: number): TaskRecord[];
  /**
   * Unfinished tasks to restore at start (empty for a memory store). A store
   * with `cold` returns at most `hotQueued` of the queued ones (the oldest)
   * and leaves the others to `cold.coldQueued()`.
   */
  loadUnfinished(hotQueued?: number): TaskRecord[];
  maxSeq(): number;
  /** Deletes finished tasks older than the cutoff; resolves with how many. */
  prune(finishedBeforeMs: number): Promise<number>;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /**
   * A store whose reads are synchronous only for what it caches (PostgreSQL)
   * reads what the query names from the database first; callers await it
   * before get / byIdempotencyKey / bySession. Absent for memory and SQLite.
   */
  preload?(q: StorePreload): Promise<void>;
  /**
   * Why the store can no longer keep what it is given (deleted or replaced
   * file, read-only, I/O error, full disk, database unreachable), or
   * undefined while it can. While set the master reports unhealthy and
   * refuses submits. SQLite's stays set; PostgreSQL's clears once its
   * writes commit again.
   */
  failure?(): Error | undefined;
  /** A durable store calls this after each commit (seconds it took, rows written) for the metrics. */
  onCommitted?: ((seconds: number, rows: number) => void) | undefined;
  close(): Promise<void>;
}

export class MemoryTaskStore implements TaskStore {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly idem = new Map<string, string>();
  /** Finished ids in finish order, for bounded retention. */
  private readonly finished = new Fifo<string>();
  private readonly maxFinished: number;
  private readonly maxFinishedBytes: number;
  private readonly finishedBytes = new Map<string, number>();
  private finishedBytesTotal = 0;

  /** Keeps at most `maxFinished` finished tasks and `maxFinishedBytes` of their payloads (a memory store forgets older ones). */
  constructor(maxFinished: number, maxFinishedBytes = DEFAULT_CACHE_MAX_BYTES) {
    this.maxFinished = maxFinished;
    this.maxFinishedBytes = maxFinishedBytes;
  }

  /** Estimated bytes of the finished tasks' payloads held (bounded by maxFinishedBytes). */
  get cachedPayloadBytes(): number {
    return this.finishedBytesTotal;
  }

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  byIdempotencyKey(key: string): TaskRecord | undefined {
    const id = this.idem.get(key);
    return id === undefined ? undefined : this.tasks.get(id);
  }

  put(task: TaskRecord): void {
    if (!this.tasks.has(task.id)) {
      this.tasks.set(task.id, task);
      if (task.idempotencyKey) this.idem.set(task.idempotencyKey, task.id);
    }
    if (TERMINAL_STATUSES.has(task.status) && task.history.at(-1)?.status === task.status && task.finishedAtMs !== null) {
      if (!this.finishedBytes.has(task.id)) this.finished.push(task.id);
      const bytes = approxPayloadBytes(task.input) + approxPayloadBytes(task.result);
      this.finishedBytesTotal += bytes - (this.finishedBytes.get(task.id) ?? 0);
      this.finishedBytes.set(task.id, bytes);
      while (this.finished.size > this.maxFinished || (this.finishedBytesTotal > this.maxFinishedBytes && this.finished.size > 1)) {
        const old = this.finished.shift()!;
        this.finishedBytesTotal -= this.finishedBytes.get(old) ?? 0;
        this.finishedBytes.delete(old);
        const rec = this.tasks.get(old);
        if (rec && TERMINAL_STATUSES.has(rec.status)) {
          this.tasks.delete(old);
          if (rec.idempotencyKey) this.idem.delete(rec.idempotencyKey);
        }
      }
    }
  }

  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[] {
    const out: TaskRecord[] = [];
    const all = [...this.tasks.values()];
    for (let i = all.length - 1; i >= 0 && out.length < filter.limit; i--) {
      const t = all[i]!;
      if ((!filter.status || t.status === filter.status) && (filter.tenant === undefined || t.tenant === filter.tenant)) out.push(t);
    }
    return out;
  }

  commit(): Promise<void> {
    return Promise.resolve();
  }

  afterCommit(fn: () => void): void {
    fn();
  }

  bySession(sessionId: string, limit: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    const all = [...this.tasks.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) if (all[i]!.sessionId === sessionId) out.push(all[i]!);
    return out;
  }

  loadUnfinished(): TaskRecord[] {
    return [];
  }

  maxSeq(): number {
    return 0;
  }

  async prune(finishedBeforeMs: number): Promise<number> {
    let n = 0;
    for (const [id, t] of this.tasks) {
      if (t.finishedAtMs !== null && t.finishedAtMs < finishedBeforeMs) {
        this.tasks.delete(id);
        if (t.idempotencyKey) this.idem.delete(t.idempotencyKey);
        n++;
      }
    }
    return n;
  }

  private readonly meta = new Map<string, string>();
  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }

  async close(): Promise<void> {
    this.tasks.clear();
  }
}
