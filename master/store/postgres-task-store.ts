/**
 * Durable task store on PostgreSQL, for one master (multi-master is not
 * built yet: see docs/DEPLOYMENT.md). Same model as the SQLite store: live
 * tasks and the most recent finished ones in memory, every put() written
 * behind in batches (one transaction per flush; the next batch gathers while
 * one is in flight), commit() / afterCommit() resolve after COMMIT. What the
 * master needs at start (unfinished tasks, the highest seq, the meta pairs)
 * is loaded by the async `open()`; finished tasks no longer cached are read
 * back by `preload()` before the synchronous reads that need them.
 *
 * PostgreSQL out of reach for `downAfterMs`: failure() is set (submits get
 * 503, nothing is acknowledged); writes handed over are kept and retried, and
 * failure() clears once they commit again.
 */
import pg from 'pg';
import type { TaskRecord } from '../core/task-record.js';
import { Fifo } from '../core/fifo.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { approxPayloadBytes, DEFAULT_CACHE_MAX_BYTES } from './payload-bytes.js';
import { featuresColumn, migratePostgres } from './postgres-schema.js';
import { type PgBatch, pgClientConfig, PostgresWriter } from './postgres-writer.js';
import { STATE_WRITE_DELAY_MS } from './sqlite-task-store.js';
import { deserialize, ROW, type Row, serializeFixed, serializeState } from './sqlite-rows.js';
import { StoreUnavailableError } from './store-file-check.js';
import { ConflictError } from '../../common/errors.js';
import { ensurePostgresSearchSchema, pgSearchText, PostgresTaskSearch } from './postgres-task-search.js';
import type { TaskSearchPage, TaskSearchQuery } from './task-search.js';
import { ensureClusterSchema } from './cluster-schema.js';
import type { WriteFence } from './postgres-fence.js';
import type { StorePreload, TaskStore } from './task-store.js';

type Waiter = { resolve: () => void; reject?: (err: Error) => void; settled?: boolean };

export interface PostgresTaskStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Finished tasks kept in memory besides the database copy (default 10000). */
  maxCachedFinished?: number;
  /** Bytes of finished tasks' input and result kept in memory (default 256 MiB). */
  maxCachedFinishedBytes?: number;
  /** Rows deleted per pruning statement (default 5000). */
  pruneChunkRows?: number;
  /** PostgreSQL failing this long sets failure() (default 2000 ms). */
  downAfterMs?: number;
  /** Idle ping interval, ms (default 1000). */
  pingIntervalMs?: number;
  /** Told when the store goes down (failure() set) and comes back. */
  onDown?: (err: Error) => void;
  onUp?: () => void;
  /** Multi-master mode (postgres-cluster.ts): this master's fence and what it is told. */
  cluster?: StoreClusterHooks;
}

/** What a multi-master store needs of its cluster (postgres-cluster.ts). */
export interface StoreClusterHooks extends WriteFence {
  /** Pooled tasks whose row committed: this master no longer holds them. */
  onHandedOff(ids: string[]): void;
  /** Only the leader prunes. */
  isLeader(): boolean;
}

/** Tasks of other masters read for a request (multi-master), at most this many kept. */
const MAX_FOREIGN = 10_000;

/** A postgres:// or postgresql:// URL without its password (for logs). */
export function redactPostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export class PostgresTaskStore implements TaskStore {
  private readonly live = new Map<string, TaskRecord>();
  private readonly recentFinished = new Map<string, TaskRecord>();
  private readonly finishedOrder = new Fifo<string>();
  private readonly idem = new Map<string, string>();
  private readonly dirty = new Map<string, { task: TaskRecord; full: boolean }>();
  private readonly dirtyMeta = new Map<string, string>();
  private readonly deferred = new Map<string, { task: TaskRecord; since: number }>();
  private deferTimer: NodeJS.Timeout | undefined;
  private readonly written = new Set<string>();
  private readonly meta = new Map<string, string>();
  private waiters: Waiter[] = [];
  /** Waiters of the batch handed to the writer last, until it commits. */
  private inflightWaiters: Waiter[] | undefined;
  private inflight = 0;
  private flushScheduled = false;
  private closed = false;
  private failed: Error | undefined;
  private readonly cachedBytes = new Map<string, number>();
  private cachedBytesTotal = 0;
  private readonly maxCachedFinished: number;
  private readonly maxCachedFinishedBytes: number;
  private readonly writer: PostgresWriter;
  private unfinished: TaskRecord[] = [];
  private seqMax = 0;
  /** Multi-master: new tasks left to the shared pool (inserted with no owner), and snapshots of other masters' tasks. */
  private readonly pooled = new Set<string>();
  private readonly foreign = new Map<string, TaskRecord>();
  private readonly foreignOrder = new Fifo<string>();
  /** Multi-master: claimed tasks (submitted through some master); their finals are announced. */
  private readonly claimed = new Set<string>();
  /**
   * Multi-master: tasks on their way to the pool (a pooled insert in flight, or a return to the
   * pool under way) that are still live here. A claim of one of them (this master's own claim can
   * come back before the write's commit is seen here) takes it back: it stays live and is admitted
   * again instead of being dropped when the hand-off completes.
   */
  private readonly toPool = new Set<string>();
  private readonly takenBack = new Set<string>();
  onCommitted: ((seconds: number, rows: number) => void) | undefined;

  private constructor(
    private readonly options: PostgresTaskStoreOptions,
    private readonly reads: pg.Pool,
  ) {
    this.maxCachedFinished = options.maxCachedFinished ?? 10_000;
    this.maxCachedFinishedBytes = options.maxCachedFinishedBytes ?? DEFAULT_CACHE_MAX_BYTES;
    this.writer = new PostgresWriter({
      url: options.url,
      downAfterMs: options.downAfterMs,
      pingIntervalMs: options.pingIntervalMs,
      onDown: (err) => this.down(err),
      onUp: () => this.up(),
      fence: options.cluster && {
        owner: options.cluster.owner,
        epoch: options.cluster.epoch,
        onRefused: (ids) => {
          // No longer ours: forget them (reads go to the database), and tell the cluster.
          for (const id of ids) this.live.delete(id);
          options.cluster!.onRefused(ids);
        },
      },
    });
  }

  /** Connects, migrates the schema and loads what the master's start needs. */
  static async open(options: PostgresTaskStoreOptions): Promise<PostgresTaskStore> {
    const reads = new pg.Pool({ ...pgClientConfig(options.url), max: 4, idleTimeoutMillis: 30_000 });
    reads.on('error', () => undefined); // an idle read connection lost: the pool replaces it
    try {
      const client = await reads.connect();
      const store = new PostgresTaskStore(options, reads);
      try {
        await migratePostgres(client);
        await ensurePostgresSearchSchema(client);
        if (options.cluster) await ensureClusterSchema(client);
        for (const r of (await client.query<{ key: string; value: string }>('SELECT key, value FROM meta')).rows) store.meta.set(r.key, r.value);
        store.seqMax = (await client.query<{ s: number | null }>('SELECT max(seq) AS s FROM tasks')).rows[0]?.s ?? 0;
        // Multi-master: a master starts owning nothing (the leader re-queues a dead master's tasks for any to claim).
        const open = options.cluster ? { rows: [] } : await client.query<Row>(`SELECT ${ROW} FROM tasks WHERE finished_at IS NULL ORDER BY seq`);
        store.unfinished = open.rows.map(deserialize);
        await store.writer.connect(); // takes the one-master lock, or refuses
      } catch (err) {
        await store.writer.close(0);
        throw err;
      } finally {
        client.release();
      }
      return store;
    } catch (err) {
      await reads.end().catch(() => undefined);
      throw new StoreUnavailableError(`PostgreSQL at ${redactPostgresUrl(options.url)}: ${(err as Error).message}`);
    }
  }

  /** One meta value, read without opening a store (no lock: `taskwire token --store` next to a running master). */
  static async readMeta(url: string, key: string): Promise<string | undefined> {
    const client = new pg.Client(pgClientConfig(url));
    try {
      await client.connect();
      if ((await client.query<{ t: string | null }>(`SELECT to_regclass('meta')::text AS t`)).rows[0]?.t === null) return undefined;
      return (await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])).rows[0]?.value;
    } catch (err) {
      throw new StoreUnavailableError(`PostgreSQL at ${redactPostgresUrl(url)}: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Transactions and rows committed so far. */
  get stats(): { transactions: number; rows: number; retries: number } {
    return this.writer.stats;
  }

  get cachedPayloadBytes(): number {
    return this.cachedBytesTotal;
  }

  get(id: string): TaskRecord | undefined {
    return this.live.get(id) ?? this.recentFinished.get(id) ?? this.dirty.get(id)?.task ?? this.foreign.get(id);
  }

  byIdempotencyKey(key: string): TaskRecord | undefined {
    const id = this.idem.get(key);
    return id === undefined ? undefined : this.get(id);
  }

  /** Reads the tasks a query names from the database into the cache (finished ones the cache no longer holds). */
  async preload(q: StorePreload): Promise<void> {
    if (this.closed) return;
    const read = async (sql: string, params: unknown[]): Promise<Row[]> => {
      // Down: what is not cached cannot be answered (503), rather than reported missing.
      if (this.failed) throw this.failed;
      try {
        return (await this.reads.query<Row>(sql, params)).rows;
      } catch (err) {
        throw new StoreUnavailableError(`PostgreSQL read failed: ${(err as Error).message}`);
      }
    };
    let rows: Row[] = [];
    if (q.id !== undefined) {
      if (!this.get(q.id)) rows = await read(`SELECT ${ROW} FROM tasks WHERE id = $1`, [q.id]);
    } else if (q.idempotencyKey !== undefined) {
      if (!this.byIdempotencyKey(q.idempotencyKey)) rows = await read(`SELECT ${ROW} FROM tasks WHERE idempotency_key = $1`, [q.idempotencyKey]);
    } else if (q.sessionId !== undefined) {
      rows = await read(`SELECT ${ROW} FROM tasks WHERE session_id = $1 ORDER BY seq DESC LIMIT $2`, [q.sessionId, q.limit ?? 50]);
    }
    if (this.options.cluster) {
      // Multi-master: another master's task is read again every time (a snapshot, never written from here).
      if (q.id !== undefined && !this.live.has(q.id) && !this.recentFinished.has(q.id)) rows = await read(`SELECT ${ROW} FROM tasks WHERE id = $1`, [q.id]);
      else if (q.idempotencyKey !== undefined && rows.length === 0 && !this.byIdempotencyKey(q.idempotencyKey)) {
        rows = await read(`SELECT ${ROW} FROM tasks WHERE idempotency_key = $1`, [q.idempotencyKey]);
      }
      for (const r of rows) {
        if (this.live.has(r.id) || this.dirty.has(r.id)) continue;
        if (r.finished_at !== null) {
          this.foreign.delete(r.id);
          if (!this.recentFinished.has(r.id)) this.cacheFinished(deserialize(r));
        } else this.cacheForeign(deserialize(r));
      }
      return;
    }
    // Only finished rows: a live task is always in memory, and newer than its row.
    for (const r of rows) if (r.finished_at !== null && !this.get(r.id)) this.cacheFinished(deserialize(r));
  }

  private cacheForeign(t: TaskRecord): void {
    if (!this.foreign.has(t.id)) this.foreignOrder.push(t.id);
    this.foreign.set(t.id, t);
    if (t.idempotencyKey) this.idem.set(t.idempotencyKey, t.id);
    while (this.foreign.size > MAX_FOREIGN) {
      const old = this.foreignOrder.shift()!;
      const f = this.foreign.get(old);
      this.foreign.delete(old);
      if (f?.idempotencyKey && this.idem.get(f.idempotencyKey) === old) this.idem.delete(f.idempotencyKey);
    }
  }

  /** Multi-master: a new task goes to the shared pool (inserted with no owner); called before its first flush. */
  pool(task: TaskRecord): void {
    this.pooled.add(task.id);
  }

  /**
   * Multi-master: tasks this master gave back to the pool (postgres-claims.ts
   * `returnUnserved`, after their rows were set to no owner) are no longer its
   * live tasks; they are read like another master's from now on. A task that
   * changed meanwhile (a pending write, no longer queued) stays.
   */
  disown(ids: readonly string[]): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const id of ids) {
      this.toPool.delete(id);
      if (this.takenBack.delete(id)) continue; // claimed back meanwhile (adopt)
      const t = this.live.get(id);
      if (!t || t.status !== 'queued' || this.dirty.has(id)) continue;
      this.live.delete(id);
      this.claimed.delete(id);
      this.cacheForeign(t);
      out.push(t);
    }
    return out;
  }

  /** Multi-master: these live tasks are being returned to the pool (before the UPDATE that returns them). */
  returning(ids: readonly string[]): void {
    for (const id of ids) this.toPool.add(id);
  }

  /** Multi-master: a return that did not happen (the UPDATE failed): they are just live tasks again. */
  notReturning(ids: readonly string[]): void {
    for (const id of ids) {
      this.toPool.delete(id);
      this.takenBack.delete(id);
    }
  }

  /** Multi-master: rows this master claimed (postgres-claims.ts) become its live tasks. */
  adopt(rows: Row[]): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const r of rows) {
      const held = this.live.get(r.id);
      if (held) {
        if (this.toPool.has(r.id) && held.status === 'queued') {
          // Pooled by this master and claimed back by it before the hand-off completed here.
          this.takenBack.add(r.id);
          this.claimed.add(r.id);
          this.written.add(r.id);
          out.push(held);
        }
        continue;
      }
      const t = deserialize(r);
      this.foreign.delete(t.id);
      this.claimed.add(t.id);
      this.written.add(t.id);
      this.live.set(t.id, t);
      if (t.idempotencyKey) this.idem.set(t.idempotencyKey, t.id);
      out.push(t);
    }
    return out;
  }

  put(task: TaskRecord, change: 'full' | 'state' = 'full'): void {
    if (this.closed) return;
    if (this.foreign.get(task.id) === task) {
      // Multi-master: a snapshot of another master's task (read for a request) is never written from here.
      throw new ConflictError(`task ${task.id} is held by another master or waits in the shared pool (multi-master): cancel it through the master that runs it`);
    }
    if (change === 'state') {
      // As in the SQLite store: a pending write covers it, else it is written once the attempt lasted STATE_WRITE_DELAY_MS.
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
      this.cacheFinished(task);
    } else this.live.set(task.id, task);
    if (task.idempotencyKey) this.idem.set(task.idempotencyKey, task.id);
    this.deferred.delete(task.id);
    this.dirty.set(task.id, { task, full: true });
    this.scheduleFlush();
  }

  private cacheFinished(task: TaskRecord): void {
    if (!this.recentFinished.has(task.id)) this.finishedOrder.push(task.id);
    this.recentFinished.set(task.id, task);
    if (task.idempotencyKey) this.idem.set(task.idempotencyKey, task.id);
    const bytes = approxPayloadBytes(task.input) + approxPayloadBytes(task.result);
    this.cachedBytesTotal += bytes - (this.cachedBytes.get(task.id) ?? 0);
    this.cachedBytes.set(task.id, bytes);
    while (this.recentFinished.size > this.maxCachedFinished || (this.cachedBytesTotal > this.maxCachedFinishedBytes && this.recentFinished.size > 1)) {
      this.forgetFinished(this.finishedOrder.shift()!);
    }
  }

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
    const wait = Math.max(oldest.since + STATE_WRITE_DELAY_MS - performance.now(), STATE_WRITE_DELAY_MS / 4);
    this.deferTimer = setTimeout(() => {
      this.deferTimer = undefined;
      this.writeDueStates(performance.now() - STATE_WRITE_DELAY_MS);
      this.armDeferTimer();
    }, wait);
    this.deferTimer.unref();
  }

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
    setImmediate(() => this.flush());
  }

  /** Hands everything pending to the writer as one transaction; while one is in flight the next gathers. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closed && this.dirty.size === 0 && this.dirtyMeta.size === 0) return;
    if (this.inflight > 0 || (this.dirty.size === 0 && this.dirtyMeta.size === 0)) return;
    const rows = [...this.dirty.values()];
    this.dirty.clear();
    const batch: PgBatch = { insert: [], update: [], state: [], meta: [...this.dirtyMeta] };
    this.dirtyMeta.clear();
    const owners = this.options.cluster ? (batch.insertOwners = [] as boolean[]) : undefined;
    const handedOff: string[] = [];
    for (const { task: t, full } of rows) {
      if (!full) batch.state.push([t.status, t.attempt, t.workerId, t.assignedAtMs, t.id]);
      else if (this.written.has(t.id)) batch.update.push([t.status, t.finishedAtMs, t.attempt, t.workerId, t.assignedAtMs, serializeState(t), t.id, pgSearchText(t)]);
      else {
        batch.insert.push([
          t.id, t.seq, t.status, t.kind, t.sessionId, t.idempotencyKey, t.createdAtMs, t.finishedAtMs,
          t.attempt, t.workerId, t.assignedAtMs, serializeFixed(t), serializeState(t), t.tenant, t.requirement.model ?? null, pgSearchText(t), t.priority, featuresColumn(t.requirement),
        ]);
        if (owners) {
          const pooled = this.pooled.delete(t.id) && t.status === 'queued';
          owners.push(pooled);
          if (pooled) {
            handedOff.push(t.id);
            this.toPool.add(t.id);
          }
        }
      }
      if (owners && full && TERMINAL_STATUSES.has(t.status) && this.claimed.delete(t.id)) (batch.notifyFinals ??= []).push(t.id);
      if (TERMINAL_STATUSES.has(t.status) || handedOff.at(-1) === t.id) this.written.delete(t.id);
      else this.written.add(t.id);
    }
    const waiters = this.waiters;
    this.waiters = [];
    this.inflightWaiters = waiters;
    this.inflight++;
    const handedAt = performance.now();
    const count = rows.length + batch.meta.length;
    this.writer.write(batch, () => {
      this.inflight--;
      this.onCommitted?.((performance.now() - handedAt) / 1000, count);
      if (this.inflightWaiters === waiters) this.inflightWaiters = undefined;
      if (handedOff.length > 0) this.handOff(handedOff);
      for (const w of waiters) {
        if (w.settled) continue;
        w.settled = true;
        w.resolve();
      }
      if (this.dirty.size > 0 || this.dirtyMeta.size > 0) this.flush();
    });
  }

  /** Pooled rows committed: the task is the pool's now (a claim brings it back as a live task of whichever master). */
  private handOff(ids: string[]): void {
    const gone: string[] = [];
    for (const id of ids) {
      this.toPool.delete(id);
      if (this.takenBack.delete(id)) continue; // claimed back meanwhile: it is live here again
      gone.push(id);
      const t = this.live.get(id);
      if (t && t.status === 'queued' && !this.written.has(id)) {
        this.live.delete(id);
        this.cacheForeign(t);
      }
    }
    this.options.cluster?.onHandedOff(gone);
  }

  failure(): Error | undefined {
    return this.failed;
  }

  /** Multi-master: this master lost its lease (nothing it is given is acknowledged any more). */
  fail(err: Error): void {
    this.lost = true;
    this.down(err);
  }

  private lost = false;

  private down(err: Error): void {
    this.failed = new StoreUnavailableError(err.message);
    // Nothing waiting is acknowledged: commit() callers get the error now (their writes stay queued and land later).
    for (const w of [...this.waiters, ...(this.inflightWaiters ?? [])]) {
      if (w.settled || !w.reject) continue;
      w.settled = true;
      w.reject(this.failed);
    }
    this.options.onDown?.(this.failed);
  }

  private up(): void {
    if (!this.failed || this.lost) return;
    this.failed = undefined;
    this.options.onUp?.();
  }

  commit(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.wait({ resolve, reject }));
  }

  /** fn runs once everything put so far is committed (also when that is after an outage). */
  afterCommit(fn: () => void): void {
    this.wait({ resolve: fn });
  }

  private wait(w: Waiter): void {
    if (this.dirty.size > 0 || this.dirtyMeta.size > 0) this.waiters.push(w);
    else if (this.inflightWaiters) this.inflightWaiters.push(w);
    else w.resolve();
  }

  /** Live and cached tasks, newest first (older finished tasks are in the database only: see docs/DEPLOYMENT.md). */
  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[] {
    const tenantOf = (t: TaskRecord) => (t as { tenant?: string }).tenant ?? 'default';
    return this.cached((t) => (!filter.status || t.status === filter.status) && (filter.tenant === undefined || tenantOf(t) === filter.tenant), filter.limit);
  }

  private searcher: PostgresTaskSearch | undefined;
  /** Search, listings and export through the database's indexes (postgres-task-search.ts), O(page). */
  search(q: TaskSearchQuery): Promise<TaskSearchPage> {
    this.searcher ??= new PostgresTaskSearch(this.reads, { fresh: (id) => this.get(id), live: () => this.live.values() });
    return this.searcher.search(q);
  }

  bySession(sessionId: string, limit: number): TaskRecord[] {
    return this.cached((t) => t.sessionId === sessionId, limit);
  }

  private cached(match: (t: TaskRecord) => boolean, limit: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const t of this.live.values()) if (match(t)) out.push(t);
    for (const t of this.recentFinished.values()) if (match(t)) out.push(t);
    return out.sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  loadUnfinished(): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const t of this.unfinished) {
      if (this.live.has(t.id) || this.recentFinished.has(t.id)) continue;
      this.written.add(t.id);
      this.live.set(t.id, t);
      if (t.idempotencyKey) this.idem.set(t.idempotencyKey, t.id);
      out.push(t);
    }
    this.unfinished = [];
    return out;
  }

  maxSeq(): number {
    return this.seqMax;
  }

  private pruning: Promise<number> | undefined;

  prune(finishedBeforeMs: number): Promise<number> {
    for (const [id, t] of this.recentFinished) if ((t.finishedAtMs ?? 0) < finishedBeforeMs) this.forgetFinished(id);
    const chunk = this.options.pruneChunkRows ?? 5000;
    if (this.options.cluster && !this.options.cluster.isLeader()) return Promise.resolve(0); // the leader prunes the database
    this.pruning ??= (async () => {
      let total = 0;
      for (;;) {
        const n = await this.writer.prune(finishedBeforeMs, chunk);
        total += n;
        if (n < chunk || this.closed) return total;
      }
    })().finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
    this.dirtyMeta.set(key, value);
    this.scheduleFlush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.writeDueStates();
    this.closed = true;
    this.flush();
    // Everything handed over, then disconnect (a store that is down gives up after the grace time).
    await this.writer.close(this.failed ? 1000 : 10_000);
    await this.reads.end().catch(() => undefined);
  }
}
