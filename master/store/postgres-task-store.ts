/**
 * Durable task store on PostgreSQL: one master on its own database, or
 * several on one (`TASKWIRE_MASTERS=multi`, docs/MULTI_MASTER.md: the
 * shared pool, claims and fencing in postgres-claims.ts, postgres-fence.ts,
 * pool-hand-offs.ts, foreign-tasks.ts). Same model as the SQLite store: live
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
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { DEFAULT_CACHE_MAX_BYTES } from './payload-bytes.js';
import { migratePostgres } from './postgres-schema.js';
import { pgClientConfig, PostgresWriter } from './postgres-writer.js';
import { deserialize, ROW, type Row } from './sqlite-rows.js';
import { StoreUnavailableError } from './store-file-check.js';
import { ConflictError } from '../../common/errors.js';
import { ensurePostgresSearchSchema, PostgresTaskSearch } from './postgres-task-search.js';
import type { TaskSearchPage, TaskSearchQuery } from './task-search.js';
import { ensureClusterSchema } from './cluster-schema.js';
import type { StorePreload, TaskStore } from './task-store.js';
import type { PostgresTaskStoreOptions } from './postgres-task-store-options.js';
import { redactPostgresUrl } from './redact-postgres-url.js';
import { CommitWaiters, type CommitWaiter } from './commit-waiters.js';
import { DeferredStateWrites } from './deferred-state-writes.js';
import { FinishedCache } from './finished-cache.js';
import { ForeignTasks } from './foreign-tasks.js';
import { PoolHandOffs } from './pool-hand-offs.js';
import { taskBatch } from './postgres-task-batch.js';
import { PostgresTaskReads } from './postgres-task-reads.js';
import { StoreOutage } from './store-outage.js';

export type { PostgresTaskStoreOptions, StoreClusterHooks } from './postgres-task-store-options.js';
export { redactPostgresUrl } from './redact-postgres-url.js';

export class PostgresTaskStore implements TaskStore {
  private readonly live = new Map<string, TaskRecord>();
  /** The most recent finished tasks, bounded by count and by payload bytes (the database copy stays). */
  private readonly recentFinished: FinishedCache;
  private readonly idem = new Map<string, string>();
  private readonly dirty = new Map<string, { task: TaskRecord; full: boolean }>();
  private readonly dirtyMeta = new Map<string, string>();
  /** State-only changes of written tasks, written after STATE_WRITE_DELAY_MS. */
  private readonly deferred: DeferredStateWrites;
  private readonly written = new Set<string>();
  private readonly meta = new Map<string, string>();
  private readonly waiters = new CommitWaiters();
  private inflight = 0;
  private flushScheduled = false;
  private closed = false;
  /** PostgreSQL out of reach (failure() set), or this master's lease lost. */
  private readonly outage: StoreOutage;
  private readonly writer: PostgresWriter;
  private unfinished: TaskRecord[] = [];
  private seqMax = 0;
  /** Multi-master: snapshots of other masters' tasks, and the tasks going to and coming from the shared pool. */
  private readonly foreign = new ForeignTasks(this.idem);
  private readonly handOffs: PoolHandOffs;
  private readonly rowReads: PostgresTaskReads;
  onCommitted: ((seconds: number, rows: number) => void) | undefined;

  private constructor(
    private readonly options: PostgresTaskStoreOptions,
    private readonly reads: pg.Pool,
  ) {
    this.recentFinished = new FinishedCache(options.maxCachedFinished ?? 10_000, options.maxCachedFinishedBytes ?? DEFAULT_CACHE_MAX_BYTES, (t) => {
      if (t.idempotencyKey && this.idem.get(t.idempotencyKey) === t.id) this.idem.delete(t.idempotencyKey);
    });
    this.deferred = new DeferredStateWrites((task) => {
      if (!this.dirty.has(task.id)) this.dirty.set(task.id, { task, full: false });
    }, () => this.scheduleFlush());
    this.outage = new StoreOutage(options, (err) => this.waiters.rejectAll(err));
    this.rowReads = new PostgresTaskReads(reads, () => this.outage.current);
    const cluster = options.cluster;
    this.handOffs = new PoolHandOffs({ live: this.live, written: this.written, dirty: this.dirty, foreign: this.foreign, idem: this.idem, onHandedOff: cluster && ((ids) => cluster.onHandedOff(ids)) });
    this.writer = new PostgresWriter({
      url: options.url,
      downAfterMs: options.downAfterMs,
      pingIntervalMs: options.pingIntervalMs,
      onDown: (err) => this.outage.down(err),
      onUp: () => this.outage.up(),
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
  static readMeta(url: string, key: string): Promise<string | undefined> {
    return PostgresTaskReads.meta(url, key);
  }

  /** Transactions and rows committed so far. */
  get stats(): { transactions: number; rows: number; retries: number } {
    return this.writer.stats;
  }

  get cachedPayloadBytes(): number {
    return this.recentFinished.payloadBytes;
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
    const read = this.rowReads;
    let rows: Row[] = [];
    if (q.id !== undefined) {
      if (!this.get(q.id)) rows = await read.byId(q.id);
    } else if (q.idempotencyKey !== undefined) {
      if (!this.byIdempotencyKey(q.idempotencyKey)) rows = await read.byIdempotencyKey(q.idempotencyKey);
    } else if (q.sessionId !== undefined) {
      rows = await read.bySession(q.sessionId, q.limit ?? 50);
    }
    if (this.options.cluster) {
      // Multi-master: another master's task is read again every time (a snapshot, never written from here).
      if (q.id !== undefined && !this.live.has(q.id) && !this.recentFinished.has(q.id)) rows = await read.byId(q.id);
      else if (q.idempotencyKey !== undefined && rows.length === 0 && !this.byIdempotencyKey(q.idempotencyKey)) rows = await read.byIdempotencyKey(q.idempotencyKey);
      for (const r of rows) {
        if (this.live.has(r.id) || this.dirty.has(r.id)) continue;
        if (r.finished_at !== null) {
          this.foreign.delete(r.id);
          if (!this.recentFinished.has(r.id)) this.cacheFinished(deserialize(r));
        } else this.foreign.add(deserialize(r));
      }
      return;
    }
    // Only finished rows: a live task is always in memory, and newer than its row.
    for (const r of rows) if (r.finished_at !== null && !this.get(r.id)) this.cacheFinished(deserialize(r));
  }

  /** Multi-master: a new task goes to the shared pool (inserted with no owner); called before its first flush. */
  pool(task: TaskRecord): void {
    this.handOffs.pool(task);
  }

  /**
   * Multi-master: tasks this master gave back to the pool (postgres-claims.ts
   * `returnUnserved`, after their rows were set to no owner) are no longer its
   * live tasks; they are read like another master's from now on. A task that
   * changed meanwhile (a pending write, no longer queued) stays.
   */
  disown(ids: readonly string[]): TaskRecord[] {
    return this.handOffs.disown(ids);
  }

  /** Multi-master: these live tasks are being returned to the pool (before the UPDATE that returns them). */
  returning(ids: readonly string[]): void {
    this.handOffs.returning(ids);
  }

  /** Multi-master: a return that did not happen (the UPDATE failed): they are just live tasks again. */
  notReturning(ids: readonly string[]): void {
    this.handOffs.notReturning(ids);
  }

  /** Multi-master: rows this master claimed (postgres-claims.ts) become its live tasks. */
  adopt(rows: Row[]): TaskRecord[] {
    return this.handOffs.adopt(rows);
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
        this.deferred.add(task);
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
    if (task.idempotencyKey) this.idem.set(task.idempotencyKey, task.id);
    this.recentFinished.add(task); // the oldest go past either bound
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
    const meta = [...this.dirtyMeta];
    this.dirtyMeta.clear();
    const { batch, handedOff } = taskBatch(rows, meta, this.written, this.options.cluster ? this.handOffs : undefined);
    const waiters = this.waiters.handOver();
    this.inflight++;
    const handedAt = performance.now();
    const count = rows.length + batch.meta.length;
    this.writer.write(batch, () => {
      this.inflight--;
      this.onCommitted?.((performance.now() - handedAt) / 1000, count);
      this.waiters.landed(waiters);
      if (handedOff.length > 0) this.handOffs.handOff(handedOff);
      this.waiters.resolve(waiters);
      if (this.dirty.size > 0 || this.dirtyMeta.size > 0) this.flush();
    });
  }

  failure(): Error | undefined {
    return this.outage.current;
  }

  /** Multi-master: this master lost its lease (nothing it is given is acknowledged any more). */
  fail(err: Error): void {
    this.outage.lose(err);
  }

  commit(): Promise<void> {
    const failed = this.outage.current;
    if (failed) return Promise.reject(failed);
    return new Promise((resolve, reject) => this.wait({ resolve, reject }));
  }

  /** fn runs once everything put so far is committed (also when that is after an outage). */
  afterCommit(fn: () => void): void {
    this.wait({ resolve: fn });
  }

  private wait(w: CommitWaiter): void {
    this.waiters.wait(w, this.dirty.size > 0 || this.dirtyMeta.size > 0);
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
    this.recentFinished.forgetBefore(finishedBeforeMs);
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
    this.deferred.close();
    this.closed = true;
    this.flush();
    // Everything handed over, then disconnect (a store that is down gives up after the grace time).
    await this.writer.close(this.outage.current ? 1000 : 10_000);
    await this.reads.end().catch(() => undefined);
  }
}
