/**
 * Compact queue entries (master/core/cold-tasks.ts): past `hotQueuedMax`
 * queued tasks, new ones over a SQLite store are queued as compact entries
 * and their records read back from disk. Each case compares with the same
 * submits on full records (a service whose budget is never reached).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { ResultTokens } from '../../common/result-token.js';
import type { TaskAssignment, WorkerStatus__Output } from '../../common/wire.js';
import { isCold } from '../../master/core/cold-tasks.js';
import { type SubmitRequest, TaskService } from '../../master/core/task-service.js';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import { SqliteTaskStore } from '../../master/store/sqlite-task-store.js';

const HOT = 3;
const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const tick = () => new Promise((r) => setImmediate(r));

function worker(capacity: number): WorkerStatus__Output {
  return {
    worker_id: 'w1', state: 'WORKER_STATE_ONLINE', kinds: ['custom'], capacity, running: 0, language: 'typescript', version: '1',
    protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, labels: {}, reason: '', load: null, models: [],
  } as unknown as WorkerStatus__Output;
}

function newStore(path?: string): { store: SqliteTaskStore; path: string } {
  let p = path;
  if (!p) {
    const dir = mkdtempSync(join(tmpdir(), 'tw-cold-'));
    dirs.push(dir);
    p = join(dir, 'tasks.db');
  }
  const store = new SqliteTaskStore({ path: p });
  closers.push(() => store.close());
  return { store, path: p };
}

function service(store: SqliteTaskStore, hotQueuedMax: number, clock = { now: () => 1_000_000 }) {
  const registry = new WorkerRegistry(clock);
  const svc = new TaskService(store, registry, new ResultTokens('a-secret-that-is-long-enough-123'), clock, silentLogger(), {
    maxAttempts: 3, taskTimeoutMs: 60_000, queueTimeoutMs: 0, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000,
    maxInputBytes: 1 << 20, retryBaseMs: 100, retryMaxMs: 1000, cancelGraceMs: 2000, hotQueuedMax,
  });
  svc.useScaleFromZero((kind) => kind === 'custom');
  closers.unshift(async () => svc.stop());
  const sent: TaskAssignment[] = [];
  const attach = (capacity: number) => {
    registry.applyStatus(worker(capacity));
    svc.attachSink({ publishAssignments: (_w, tasks) => sent.push(...tasks), publishControl: () => undefined });
  };
  return { svc, registry, sent, attach };
}

/** Inputs that JSON must carry exactly: unicode, nesting, numbers, empty values. */
const inputOf = (i: number) => ({ text: `tâche ${i} — 你好 😀 "quoted" \\ back`, n: i * 1.5, nested: { list: [i, null, true, '', {}], deep: { x: 1e21, y: -0.125 } } });

const reqs = (n: number, over: (i: number) => Partial<SubmitRequest> = () => ({})): SubmitRequest[] =>
  Array.from({ length: n }, (_, i) => ({ kind: 'custom', input: inputOf(i), ...over(i) }));

describe('compact queue entries over the SQLite store', () => {
  it('queues past the budget compactly, and a dispatch reads each input back byte-identical', async () => {
    const { store } = newStore();
    const { svc, sent, attach } = service(store, HOT);
    const out = await svc.submitMany(reqs(10));
    const ids = out.map((o) => o.task.id);
    expect(ids.map((id) => isCold(svc.queue.get(id)))).toEqual([false, false, false, true, true, true, true, true, true, true]);
    await tick(); // the batch's ack: the store lets the records go
    attach(100);
    for (let i = 0; i < 5 && sent.length < 10; i++) await tick();
    expect(sent.map((a) => a.task_id)).toEqual(ids);
    expect(sent.map((a) => JSON.stringify(a.input))).toEqual(ids.map((_, i) => JSON.stringify(inputOf(i))));
    for (const id of ids) expect(svc.get(id)?.status).toBe('assigned');
    expect(svc.queue.size).toBe(0);
  });

  it('positions, depth and the budget are the same as with full records', async () => {
    const prio = (i: number) => ({ priority: [0, 5, 2, 5, 0, 9, 0, 2, 5, 1][i]! });
    const coldStore = newStore().store;
    const fullStore = newStore().store;
    const cold = service(coldStore, HOT).svc;
    const full = service(fullStore, 1_000_000).svc;
    const a = await cold.submitMany(reqs(10, prio));
    const b = await full.submitMany(reqs(10, prio));
    expect(a.filter((o) => isCold(cold.queue.get(o.task.id)))).toHaveLength(7);
    expect(a.map((o) => cold.standing(o.task.id)?.position)).toEqual(b.map((o) => full.standing(o.task.id)?.position));
    expect(cold.queue.depth('custom')).toBe(full.queue.depth('custom'));
    expect(cold.queue.aheadOf('custom', 5)).toBe(full.queue.aheadOf('custom', 5));
    expect(cold.budget.totalBytes).toBe(full.budget.totalBytes);
    for (const o of a) cold.cancel(o.task.id);
    for (const o of b) full.cancel(o.task.id);
    await coldStore.commit();
    await fullStore.commit(); // the finals are announced (and the bytes given back) once durable
    expect(cold.budget.totalBytes).toBe(0);
    expect(full.budget.totalBytes).toBe(0);
  });

  it('GET, cancel and retry of a cold task read it from disk, once', async () => {
    const { store } = newStore();
    const { svc } = service(store, HOT);
    const out = await svc.submitMany(reqs(6));
    await tick();
    const id = out[4]!.task.id;
    expect(isCold(svc.queue.get(id))).toBe(true);
    const t = svc.get(id)!;
    expect(t.input).toEqual(inputOf(4));
    expect(t.status).toBe('queued');
    expect(svc.get(id)).toBe(t); // live again: one record for every later read
    const before = svc.standing(out[5]!.task.id)!.position;
    expect(svc.cancel(id).status).toBe('cancelled');
    expect(svc.queue.has(id)).toBe(false);
    expect(svc.standing(out[5]!.task.id)!.position).toBe(before - 1);
    await store.commit();
    const again = await svc.retry(id);
    expect(again.created).toBe(true);
    expect(again.task.input).toEqual(inputOf(4));
    // A cold task never read by id is cancelled the same way.
    const other = out[3]!.task.id;
    expect(isCold(svc.queue.get(other))).toBe(true);
    expect(svc.cancel(other).error?.code).toBe('CANCELLED');
  });

  it('a cold task past its queue timeout expires', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const { store } = newStore();
    const { svc } = service(store, HOT, clock);
    const out = await svc.submitMany(reqs(5, (i) => ({ queueTimeoutMs: i === 4 ? 500 : 60_000 })));
    await tick();
    const id = out[4]!.task.id;
    expect(isCold(svc.queue.get(id))).toBe(true);
    now += 400;
    svc.deadlines.runDue();
    expect(svc.queue.has(id)).toBe(true);
    now += 200;
    svc.deadlines.runDue();
    expect(svc.queue.has(id)).toBe(false);
    const t = svc.get(id)!;
    expect([t.status, t.error?.code]).toEqual(['expired', 'QUEUE_TIMEOUT']);
    await store.commit();
    expect(svc.queue.size).toBe(4);
  });

  it('a restart with a cold backlog restores compact entries, in order, with their inputs', async () => {
    const { store, path } = newStore();
    const first = service(store, HOT).svc;
    const out = await first.submitMany(reqs(10, (i) => ({ priority: i % 2 })));
    const ids = out.map((o) => o.task.id);
    const positions = ids.map((id) => first.standing(id)?.position);
    first.stop();
    await store.close();
    const reopened = newStore(path).store;
    const hot = reopened.loadUnfinished(HOT);
    expect(hot).toHaveLength(HOT);
    const { svc, sent, attach } = service(reopened, HOT);
    expect(svc.restore(hot, reopened.maxSeq())).toEqual({ queued: 10, inFlight: 0 });
    expect(ids.filter((id) => isCold(svc.queue.get(id)))).toHaveLength(7);
    expect(ids.map((id) => svc.standing(id)?.position)).toEqual(positions);
    attach(100);
    for (let i = 0; i < 5 && sent.length < 10; i++) await tick();
    const byId = new Map(sent.map((a) => [a.task_id, a]));
    expect(ids.map((id, i) => JSON.stringify(byId.get(id)?.input))).toEqual(ids.map((_, i) => JSON.stringify(inputOf(i))));
    // Higher priority first, FIFO within one: the same order as before the restart.
    expect(sent.map((a) => a.task_id)).toEqual([...ids].sort((x, y) => positions[ids.indexOf(x)]! - positions[ids.indexOf(y)]!));
  });
});
