/**
 * `npm run bench -- backlog`: what the master's listings cost with a big
 * queue. Fills a SQLite task store (its own put/commit path) with 1,000,000
 * queued tasks (quick: 100,000), some of them just started (state writes
 * pending, as under load), then times the reads a dashboard and a browser
 * make: a page of 50 (`GET /api/v1/tasks`), a page of queued tasks, a
 * session's tasks (Socket.IO connect), and the same through the search API.
 * Prints p50/p95 per read next to the issue's target (≤ 10 ms, ≤ 5 ms for
 * a session) and the store's RSS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialState, transition, type TaskRecord } from '../master/core/task-record.js';
import { SqliteTaskStore } from '../master/store/sqlite-task-store.js';
import { fmt, percentile } from './stats.js';

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
    return { queued: n, rss_mib: Math.round(process.memoryUsage().rss / 1048576), reads };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printBacklogBench(r: BacklogBenchResult): void {
  console.log(`\nBacklog: SQLite store with ${r.queued.toLocaleString('en')} queued tasks (process RSS ${r.rss_mib} MiB)`);
  console.log(`  ${'read'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'target'.padStart(8)}`);
  for (const x of r.reads) console.log(`  ${x.read.padEnd(44)} ${fmt(x.p50_ms).padStart(8)} ${fmt(x.p95_ms).padStart(8)} ${`≤ ${x.target_ms}`.padStart(8)}`);
}
