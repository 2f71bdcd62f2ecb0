/**
 * `npm run bench -- backlog`: what the master's listings cost with a big
 * queue. Fills a SQLite task store (its own put/commit path) with 1,000,000
 * queued tasks (quick: 100,000), some of them just started (state writes
 * pending, as under load), then times the reads a dashboard and a browser
 * make: a page of 50 (`GET /api/v1/tasks`), a page of queued tasks, a
 * session's tasks (Socket.IO connect), and the same through the search API.
 * Prints p50/p95 per read next to the issue's target (≤ 10 ms, ≤ 5 ms for
 * a session) and the store's RSS.
 *
 * Then side by side with BullMQ + Redis (bullmq-bench.ts; skipped without
 * redis-server or with TASKWIRE_BENCH_PEER=0), one run each, taskwire first:
 * a real master on SQLite in a process of its own (backlog-master.ts) and a
 * Redis with AOF everysec, each filled with the same number of no-op tasks in
 * batches of 1,000; RSS, a page of 50 (`GET /api/v1/tasks?limit=50` vs
 * `getJobs(['waiting'], 0, 49)`), the drain by 4 worker processes of
 * capacity / concurrency 512, and the RSS after.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initialState, transition, type TaskRecord } from '../master/core/task-record.js';
import { SqliteTaskStore } from '../master/store/sqlite-task-store.js';
import { fmt, percentile } from './stats.js';
import { bullBacklog, peerSkipReason } from './bullmq-bench.js';
import { type PeerBacklogResult, type TaskwireBacklogResult, printPeerBacklog } from './peer-compare.js';

const BACKLOG_MASTER = join(dirname(fileURLToPath(import.meta.url)), 'backlog-master.js');

export interface BacklogBenchRow {
  read: string;
  target_ms: number;
  p50_ms: number;
  p95_ms: number;
}

export interface BacklogBenchResult {
  queued: number;
  rss_mib: number;
  reads: BacklogBenchRow[];
  peer: PeerBacklogResult;
}

function task(i: number, now: number): TaskRecord {
  return {
    id: `T${i.toString(36).padStart(8, '0')}`,
    kind: 'echo',
    input: { text: `task ${i}` },
    priority: 0,
    requirement: { kind: 'echo' },
    key: 'echo',
    seq: i + 1,
    sessionId: `s${i % 1000}`,
    stream: false,
    idempotencyKey: null,
    createdAtMs: now,
    timeoutMs: 60_000,
    queueTimeoutMs: 0,
    heartbeatTimeoutMs: 3000,
    maxAttempts: 3,
    leaseUntilMs: null,
    secrets: null,
    tenant: 'default',
    owner: null,
    ...initialState(now),
  } as TaskRecord;
}

export async function runBacklogBench(opts: { quick?: boolean } = {}): Promise<BacklogBenchResult> {
  const n = opts.quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'tw-backlog-'));
  const store = new SqliteTaskStore({ path: join(dir, 'taskwire.db') });
  try {
    const now = Date.now();
    const all: TaskRecord[] = [];
    for (let i = 0; i < n; i++) {
      const t = task(i, now);
      all.push(t);
      store.put(t);
      if (i % 5000 === 4999) await store.commit();
    }
    await store.commit();
    // The newest 200 are starting: their state writes are deferred, the rows still say queued.
    for (const t of all.slice(-200)) {
      t.attempt = 1;
      t.workerId = 'w-1';
      transition(t, 'assigned', now);
      store.put(t, 'state');
    }
    const time = (read: string, target: number, f: () => unknown): BacklogBenchRow => {
      const ms: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        f();
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      return { read, target_ms: target, p50_ms: percentile(ms, 50), p95_ms: percentile(ms, 95) };
    };
    const reads = [
      time('list, page of 50', 10, () => store.list({ limit: 50 })),
      time('list status=queued, page of 50', 10, () => store.list({ status: 'queued', limit: 50 })),
      time('search, page of 50', 10, () => store.search({ limit: 50 })),
      time('search status=queued, page of 50', 10, () => store.search({ statuses: ['queued'], limit: 50 })),
      time("a session's 50 newest (Socket.IO connect)", 5, () => store.bySession('s7', 50)),
    ];
    return { queued: n, rss_mib: Math.round(process.memoryUsage().rss / 1048576), reads, peer: {} };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const DRAIN_WORKERS = 4;
const DRAIN_CAPACITY = 512;

function taskwireBacklog(tasks: number): Promise<TaskwireBacklogResult> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [BACKLOG_MASTER, String(tasks), String(DRAIN_WORKERS), String(DRAIN_CAPACITY)], { maxBuffer: 1 << 20 }, (err, out, errOut) =>
      err ? reject(new Error(`backlog-master: ${err.message}${errOut}`)) : resolve(JSON.parse(out) as TaskwireBacklogResult),
    ),
  );
}

/** The 1M rows side by side: taskwire (its own process), then BullMQ + Redis AOF. */
export async function runBacklogPeer(opts: { quick?: boolean } = {}): Promise<PeerBacklogResult> {
  const skipped = peerSkipReason();
  if (skipped) return { skipped };
  const n = opts.quick ? 100_000 : 1_000_000;
  const taskwire = await taskwireBacklog(n);
  const bullmq = await bullBacklog(n, DRAIN_WORKERS, DRAIN_CAPACITY, 'aof');
  return { taskwire, bullmq };
}

export function printBacklogBench(r: BacklogBenchResult): void {
  console.log(`\nBacklog: SQLite store with ${r.queued.toLocaleString('en')} queued tasks (process RSS ${r.rss_mib} MiB)`);
  console.log(`  ${'read'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'target'.padStart(8)}`);
  for (const x of r.reads) console.log(`  ${x.read.padEnd(44)} ${fmt(x.p50_ms).padStart(8)} ${fmt(x.p95_ms).padStart(8)} ${`≤ ${x.target_ms}`.padStart(8)}`);
  printPeerBacklog(r.peer);
}
