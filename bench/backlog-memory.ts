/**
 * Where the master's memory goes per queued task:
 *   node --expose-gc dist/bench/backlog-memory.js [tasks=200000]
 * Admits <tasks> echo tasks (as backlog-master.ts: `{text: "task i"}`, the
 * default queue timeout of an hour) into a TaskService over a SQLite store
 * in durable batches of 1,000, with no worker, and prints the heap bytes per
 * task after a full GC: in total, then each part of what is held measured on
 * its own (records with and without their history array, the id strings, an
 * id Map, the queue's heap and ranks, the deadline wheel, the payload
 * budget's entries, the store's maps; skipped with `whole` as second
 * argument), and the RSS before and after a full GC. One JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { silentLogger } from '../common/logger.js';
import { ResultTokens } from '../common/result-token.js';
import { Deadlines } from '../master/core/deadlines.js';
import { PayloadBudget } from '../master/core/payload-budget.js';
import { newTaskId } from '../common/task-id.js';
import { TaskQueue } from '../master/core/task-queue.js';
import { initialState, type TaskRecord } from '../master/core/task-record.js';
import { TaskService } from '../master/core/task-service.js';
import { WorkerRegistry } from '../master/scheduling/worker-registry.js';
import { SqliteTaskStore } from '../master/store/sqlite-task-store.js';

const tasks = Number(process.argv[2] ?? 200_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !Number.isInteger(tasks) || tasks <= 0) {
  console.error('usage: node --expose-gc dist/bench/backlog-memory.js [tasks]');
  process.exit(2);
}

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Heap bytes per task that `build` keeps reachable (what it returns). */
function perTask(build: () => unknown): number {
  const before = heap();
  const kept = build();
  const bytes = (heap() - before) / tasks;
  void kept;
  return Math.round(bytes);
}

const OPTIONS = {
  maxAttempts: 3, taskTimeoutMs: 60_000, queueTimeoutMs: 60 * 60_000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 15_000,
  maxInputBytes: 1 << 20, retryBaseMs: 100, retryMaxMs: 1000, cancelGraceMs: 2000,
};

function record(i: number, now: number): TaskRecord {
  return {
    id: newTaskId(now), kind: 'echo', input: { text: `task ${i}` }, priority: 0, requirement: { kind: 'echo' }, key: 'echo', seq: i + 1,
    sessionId: null, stream: false, idempotencyKey: null, createdAtMs: now, timeoutMs: 60_000, queueTimeoutMs: 3_600_000,
    heartbeatTimeoutMs: 15_000, maxAttempts: 3, leaseUntilMs: null, secrets: null, tenant: 'default', owner: null, inputBytes: 20,
    ...initialState(now),
  };
}

const now = Date.now();
const parts: Record<string, number> = {};
const wholeOnly = process.argv[3] === 'whole';
const recs = (): TaskRecord[] => Array.from({ length: tasks }, (_, i) => record(i, now));
if (!wholeOnly) parts.record_with_history_input_id = perTask(recs);
if (!wholeOnly) parts.history_array = perTask(() => Array.from({ length: tasks }, () => [{ status: 'queued', atMs: now }]));
if (!wholeOnly) parts.input_object = perTask(() => Array.from({ length: tasks }, (_, i) => ({ text: `task ${i}` })));
if (!wholeOnly) parts.id_string = perTask(() => Array.from({ length: tasks }, () => newTaskId(now)));
if (!wholeOnly) {
  const base = recs();
  parts.id_map_entry = perTask(() => new Map(base.map((t) => [t.id, t])));
  parts.id_set_entry = perTask(() => new Set(base.map((t) => t.id)));
  parts.queue_heap_ranks = perTask(() => {
    const q = new TaskQueue<TaskRecord>();
    for (const t of base) q.push(t);
    return q;
  });
  parts.deadline_entry = perTask(() => {
    const d = new Deadlines({ now: () => now }, () => undefined);
    for (const t of base) d.add({ atMs: t.createdAtMs + t.queueTimeoutMs, taskId: t.id, kind: 'queue', attempt: 0 });
    return d;
  });
  parts.budget_entry = perTask(() => {
    const b = new PayloadBudget({ maxBytesTotal: Number.MAX_SAFE_INTEGER, maxBytesPerOwner: Number.MAX_SAFE_INTEGER });
    for (const t of base) b.reserve(t.id, 'local', 20);
    return b;
  });
}

// The whole: a TaskService on a SQLite store, tasks submitted durably in batches of 1,000.
const dir = mkdtempSync(join(tmpdir(), 'tw-backlog-memory-'));
const store = new SqliteTaskStore({ path: join(dir, 'tasks.db') });
const clock = { now: () => Date.now() };
const registry = new WorkerRegistry(clock);
const svc = new TaskService(store, registry, new ResultTokens('a-secret-that-is-long-enough-123'), clock, silentLogger(), {
  ...OPTIONS,
  payloadBudget: { maxBytesTotal: Number.MAX_SAFE_INTEGER, maxBytesPerOwner: Number.MAX_SAFE_INTEGER },
});
svc.useScaleFromZero((kind) => kind === 'echo');
const before = heap();
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
for (let i = 0; i < tasks; i += 1000) {
  const n = Math.min(1000, tasks - i);
  await svc.submitMany(Array.from({ length: n }, (_, j) => ({ kind: 'echo', input: { text: `task ${i + j}` } })));
}
const fillS = (performance.now() - t0) / 1000;
const rssBeforeGc = process.memoryUsage().rss;
const heapBeforeGc = process.memoryUsage().heapUsed;
const total = Math.round((heap() - before) / tasks);
const rss = process.memoryUsage().rss;
process.stdout.write(
  `${JSON.stringify({
    tasks,
    service_heap_bytes_per_task: total,
    service_rss_mib: Math.round(rss / 1048576),
    service_rss_before_gc_mib: Math.round(rssBeforeGc / 1048576),
    service_heap_before_gc_mib: Math.round(heapBeforeGc / 1048576),
    service_rss_growth_bytes_per_task: Math.round((rss - rss0) / tasks),
    fill_s: Math.round(fillS * 100) / 100,
    queued: svc.queue.size,
    deadlines: svc.deadlines.size,
    parts_bytes_per_task: parts,
    memory_usage_mib: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)])),
    heap_spaces_committed_mib: Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.physical_space_size / 1048576)])),
  })}\n`,
);
svc.stop();
await store.close();
rmSync(dir, { recursive: true, force: true });
