/**
 * The behaviour every TaskStore keeps, as one suite each store's test file
 * runs (memory, SQLite, PostgreSQL): durability before acknowledge, restore
 * after a crash (a second store opened on the same storage while the first
 * is still open and never closed), idempotency keys, TTL pruning, meta,
 * schema versions, failure reporting. A capability a store lacks (memory:
 * durability) skips its tests, saying why.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { initialState, type TaskRecord, transition } from '../../master/core/task-record.js';
import type { TaskStore } from '../../master/store/task-store.js';

export interface StoreHandle {
  store: TaskStore;
  /**
   * The successor on the same storage after a crash: the stores before it are
   * not used again (SQLite leaves them open and unclosed, as after kill -9;
   * PostgreSQL, one master per database, closes them first).
   */
  reopen(options?: { pruneChunkRows?: number }): Promise<TaskStore>;
  /** The schema version the storage records. */
  schemaVersion?(): Promise<number>;
  /** Marks the storage as written by a newer taskwire (version + 1). */
  bumpSchema?(): Promise<void>;
  /** Makes the storage unable to keep writes (deleted file, stopped server). */
  breakStorage?(): Promise<void>;
  /** Undoes breakStorage (stores that recover on their own). */
  repair?(): Promise<void>;
}

export interface StoreUnderTest {
  name: string;
  /** Keeps tasks across a reopen. */
  durable: boolean;
  /** failure() clears once the storage is back (PostgreSQL) instead of staying set (SQLite). */
  recovers?: boolean;
  /** Opens a store on fresh storage; `cleanup` registers teardown (run in reverse after each test). */
  fresh(cleanup: (fn: () => unknown) => void, options?: { pruneChunkRows?: number }): Promise<StoreHandle>;
}

let seq = 0;
export function newTask(over: Partial<TaskRecord> = {}): TaskRecord {
  const now = Date.now();
  // An assertion, not an annotation: it compiles with and without the tenancy fields of the record.
  return {
    id: `t-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 6)}`,
    kind: 'echo',
    input: { text: 'x'.repeat(50), nested: [1, 2, { a: null }] },
    priority: 3,
    requirement: { kind: 'echo' },
    key: 'echo',
    seq,
    sessionId: 's-1',
    stream: true,
    idempotencyKey: null,
    createdAtMs: now,
    timeoutMs: 60_000,
    queueTimeoutMs: 0,
    heartbeatTimeoutMs: 3000,
    maxAttempts: 3,
    leaseUntilMs: null,
    secrets: { OPENAI_API_KEY: 'sk-never-stored' },
    tenant: 'default',
    owner: null,
    ...initialState(now),
    ...over,
  } as TaskRecord;
}

/** A task that ran once on w-1 and ended at `atMs`. */
export function finishedTask(status: 'succeeded' | 'failed', atMs: number, over: Partial<TaskRecord> = {}): TaskRecord {
  const t = newTask(over);
  t.attempt = 1;
  t.workerId = 'w-1';
  transition(t, 'assigned', atMs);
  t.finishedAtMs = atMs;
  t.result = { answer: 42 };
  transition(t, status, atMs);
  return t;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function storeContract(s: StoreUnderTest): void {
  describe(`TaskStore contract: ${s.name}`, () => {
    const cleanups: (() => unknown)[] = [];
    const cleanup = (fn: () => unknown) => cleanups.push(fn);
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    const durable = it.skipIf(!s.durable);

    it('get / list / bySession see a task from its put on; commit() and afterCommit() resolve', async () => {
      const { store } = await s.fresh(cleanup);
      const a = newTask({ sessionId: 'sess-a' });
      const b = newTask({ sessionId: 'sess-b' });
      store.put(a);
      store.put(b);
      expect(store.get(a.id)).toBe(a);
      let after = false;
      store.afterCommit(() => (after = true));
      await store.commit();
      await until('afterCommit', () => after);
      expect(store.list({ limit: 10 }).map((t) => t.id)).toEqual([b.id, a.id]);
      expect(store.list({ status: 'succeeded', limit: 10 })).toEqual([]);
      expect(store.bySession('sess-a', 10).map((t) => t.id)).toEqual([a.id]);
    });

    durable('durability before acknowledge: once commit() resolved, a store opened after a crash restores the task', async () => {
      const h = await s.fresh(cleanup);
      const queued = newTask({ input: { big: 'y'.repeat(10_000) } });
      const running = newTask();
      h.store.put(queued);
      h.store.put(running);
      await h.store.commit();
      running.attempt = 1;
      running.workerId = 'w-7';
      transition(running, 'assigned', Date.now());
      h.store.put(running); // a full write: assigned on w-7
      const done = finishedTask('succeeded', Date.now());
      h.store.put(done);
      await h.store.commit();
      // No close(): the first store is as a killed master left it.
      const next = await h.reopen();
      const restored = next.loadUnfinished();
      expect(restored.map((t) => t.id).sort()).toEqual([queued.id, running.id].sort());
      const r = restored.find((t) => t.id === running.id)!;
      expect([r.status, r.attempt, r.workerId]).toEqual(['assigned', 1, 'w-7']);
      expect(restored.find((t) => t.id === queued.id)!.input).toEqual(queued.input);
      expect(r.secrets).toBeNull(); // never stored
      expect(next.maxSeq()).toBe(Math.max(queued.seq, running.seq, done.seq));
      await next.preload?.({ id: done.id });
      expect(next.get(done.id)?.result).toEqual({ answer: 42 });
      expect(next.get(done.id)?.status).toBe('succeeded');
    });

    it('idempotency keys find their task, live and finished', async () => {
      const h = await s.fresh(cleanup);
      const live = newTask({ idempotencyKey: 'key-live' });
      const done = finishedTask('failed', Date.now(), { idempotencyKey: 'key-done' });
      h.store.put(live);
      h.store.put(done);
      await h.store.commit();
      expect(h.store.byIdempotencyKey('key-live')?.id).toBe(live.id);
      expect(h.store.byIdempotencyKey('key-done')?.id).toBe(done.id);
      expect(h.store.byIdempotencyKey('key-none')).toBeUndefined();
      if (!s.durable) return;
      const next = await h.reopen();
      next.loadUnfinished();
      await next.preload?.({ idempotencyKey: 'key-done' });
      expect(next.byIdempotencyKey('key-live')?.id).toBe(live.id);
      expect(next.byIdempotencyKey('key-done')?.id).toBe(done.id);
    });

    it('TTL pruning deletes finished tasks older than the cutoff, in chunks, and only those', async () => {
      const h = await s.fresh(cleanup, { pruneChunkRows: 10 });
      const old: TaskRecord[] = [];
      for (let i = 0; i < 25; i++) old.push(finishedTask('succeeded', 1000 + i));
      for (const t of old) h.store.put(t);
      const recent = finishedTask('failed', Date.now());
      const queued = newTask();
      h.store.put(recent);
      h.store.put(queued);
      await h.store.commit();
      expect(await h.store.prune(Date.now() - 60_000)).toBe(25);
      for (const t of old) expect(h.store.get(t.id)).toBeUndefined();
      expect(h.store.get(recent.id)?.status).toBe('failed');
      expect(h.store.get(queued.id)?.status).toBe('queued');
      expect(await h.store.prune(Date.now() - 60_000)).toBe(0);
      if (!s.durable) return;
      const next = await h.reopen();
      for (const t of old) {
        await next.preload?.({ id: t.id });
        expect(next.get(t.id)).toBeUndefined();
      }
    });

    durable('meta pairs survive a reopen', async () => {
      const h = await s.fresh(cleanup);
      h.store.setMeta('result_secret', 'abc');
      h.store.setMeta('result_secret', 'def');
      expect(h.store.getMeta('result_secret')).toBe('def');
      h.store.put(newTask());
      await h.store.commit();
      const next = await h.reopen();
      expect(next.getMeta('result_secret')).toBe('def');
      expect(next.getMeta('missing')).toBeUndefined();
    });

    durable('a state-only change is written once the attempt lasted a while; a final write before that supersedes it', async () => {
      const h = await s.fresh(cleanup);
      const t = newTask();
      h.store.put(t);
      await h.store.commit();
      t.attempt = 1;
      t.workerId = 'w-2';
      transition(t, 'assigned', Date.now());
      h.store.put(t, 'state');
      await sleep(800); // > STATE_WRITE_DELAY_MS
      await h.store.commit();
      const next = await h.reopen(); // the successor carries on
      const r = next.loadUnfinished().find((x) => x.id === t.id)!;
      expect(r.workerId).toBe('w-2');
      r.finishedAtMs = Date.now();
      r.result = 'ok';
      transition(r, 'succeeded', r.finishedAtMs);
      next.put(r);
      await next.commit();
      expect((await h.reopen()).loadUnfinished()).toEqual([]);
    });

    it.skipIf(!s.durable)('records its schema version and refuses storage written by a newer one', async () => {
      const h = await s.fresh(cleanup);
      if (!h.schemaVersion || !h.bumpSchema) throw new Error(`${s.name}: a durable store must expose its schema version`);
      const v = await h.schemaVersion();
      expect(v).toBeGreaterThanOrEqual(1);
      await h.bumpSchema();
      await expect(h.reopen()).rejects.toThrow(/newer taskwire/);
    });

    it.skipIf(!s.durable)('reports a failure when its storage cannot keep writes: commit() rejects, nothing is acknowledged', async () => {
      const h = await s.fresh(cleanup);
      if (!h.breakStorage) throw new Error(`${s.name}: a durable store must be breakable in its test`);
      const before = newTask();
      h.store.put(before);
      await h.store.commit();
      expect(h.store.failure?.()).toBeUndefined();
      await h.breakStorage();
      const during = newTask();
      h.store.put(during);
      await expect(h.store.commit()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(h.store.failure?.()).toBeDefined();
      await expect(h.store.commit()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      if (!s.recovers || !h.repair) return;
      await h.repair();
      await until('the store to recover', () => h.store.failure?.() === undefined, 15_000);
      const after = newTask();
      h.store.put(after);
      await h.store.commit();
      // What was put during the outage was kept and written once the storage was back.
      const next = await h.reopen();
      expect(next.loadUnfinished().map((t) => t.id).sort()).toEqual([before.id, during.id, after.id].sort());
    });
  });
}
