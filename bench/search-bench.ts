/**
 * `npm run bench -- search`: server-side search at scale. Fills a SQLite task
 * store (through its own put/commit path, so the indexes and the FTS5
 * triggers are paid as in production) with 1,000,000 finished tasks (quick:
 * 100,000) and a log store with 1,000,000 lines (quick: 100,000), then times
 * the queries GET /api/v1/tasks and GET /api/v1/logs make: a page of 50 per
 * filter, a page deep into a cursor chain, full-text with a rare and a common
 * word, one task's log lines. Reports insert rate and p50/p95 per query.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialState, type TaskRecord } from '../master/core/task-record.js';
import { SqliteTaskStore } from '../master/store/sqlite-task-store.js';
import type { TaskSearchQuery } from '../master/store/task-search.js';
import { SqliteLogStore } from '../master/logs/sqlite-log-store.js';
import type { LogFilter } from '../master/logs/log-entry.js';
import { fmt, percentile } from './stats.js';

export interface SearchBenchRow {
  query: string;
  p50_ms: number;
  p95_ms: number;
  rows: number;
}

export interface SearchBenchResult {
  tasks: number;
  task_insert_per_s: number;
  task_db_mib: number;
  log_lines: number;
  log_insert_per_s: number;
  log_db_mib: number;
  queries: SearchBenchRow[];
}

const VOCAB = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}x`);

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function task(i: number, r: () => number, t0: number): TaskRecord {
  const created = t0 + i * 10;
  const kindRoll = r();
  const kind = kindRoll < 0.6 ? 'echo' : kindRoll < 0.9 ? 'llm' : 'sleep';
  const words = Array.from({ length: 8 }, () => VOCAB[Math.floor(r() * r() * VOCAB.length)]!);
  if (i % 1000 === 7) words.push('needlezebra');
  const failed = r() < 0.05;
  const t: TaskRecord = {
    id: `bench-${i}`, kind, input: { text: words.join(' ') }, priority: Math.floor(r() * 3), requirement: kind === 'llm' ? { kind, model: r() < 0.5 ? 'model-a' : 'model-b' } : { kind },
    key: kind, seq: i + 1, sessionId: null, stream: false, idempotencyKey: null, createdAtMs: created, timeoutMs: 60_000, queueTimeoutMs: 0,
    heartbeatTimeoutMs: 3000, maxAttempts: 3, leaseUntilMs: null, secrets: null, tenant: 'default', owner: null, ...initialState(created),
  } as TaskRecord;
  t.status = failed ? 'failed' : 'succeeded';
  t.attempt = 1;
  t.workerId = `w-${i % 16}`;
  t.assignedAtMs = created + 1;
  t.startedAtMs = created + 2;
  t.finishedAtMs = created + 5;
  t.result = failed ? null : { text: words.slice(0, 4).join(' ') };
  t.error = failed ? { code: 'PROVIDER_UNAVAILABLE', message: 'upstream timeout' } : null;
  t.history.push({ status: t.status, atMs: created + 5, attempt: 1, workerId: t.workerId });
  return t;
}

function time(fn: () => number, reps: number): { p50: number; p95: number; rows: number } {
  const samples: number[] = [];
  let rows = 0;
  fn(); // warm the page cache and the statement
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    rows = fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), rows };
}

export async function runSearchBench({ quick = false } = {}): Promise<SearchBenchResult> {
  const n = quick ? 100_000 : 1_000_000;
  const lines = quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-search-bench-'));
  const queries: SearchBenchRow[] = [];
  try {
    const path = join(dir, 'taskwire.db');
    const store = new SqliteTaskStore({ path, maxCachedFinished: 1000 });
    const r = rand(42);
    const t0 = Date.now() - n * 10;
    const started = performance.now();
    for (let i = 0; i < n; ) {
      for (const end = Math.min(n, i + 5000); i < end; i++) store.put(task(i, r, t0));
      await store.commit();
    }
    const taskInsert = n / ((performance.now() - started) / 1000);
    const reps = quick ? 20 : 30;
    const page = (q: Omit<TaskSearchQuery, 'limit'>) => () => store.search({ limit: 50, ...q }).tasks.length;
    const deep = (q: Omit<TaskSearchQuery, 'limit' | 'cursor'>, pages: number) => () => {
      let cursor: string | undefined;
      let got = 0;
      for (let p = 0; p < pages; p++) {
        const res = store.search({ limit: 50, ...q, cursor });
        got = res.tasks.length;
        if (!res.nextCursor) break;
        cursor = res.nextCursor;
      }
      return got;
    };
    const cases: [string, () => number][] = [
      ['no filter, first page', page({})],
      ['status=failed', page({ statuses: ['failed'] })],
      ['kind=llm&model=model-b', page({ kind: 'llm', model: 'model-b' })],
      ['worker=w-3', page({ workerId: 'w-3' })],
      ['status=failed&kind=sleep', page({ statuses: ['failed'], kind: 'sleep' })],
      ['since/until: one hour in the middle', page({ createdSinceMs: t0 + (n / 2) * 10, createdUntilMs: t0 + (n / 2) * 10 + 3_600_000 })],
      ['q=needlezebra (rare word)', page({ text: 'needlezebra' })],
      ['q=<common word>', page({ text: VOCAB[0]! })],
      ['q=timeout&status=failed', page({ text: 'timeout', statuses: ['failed'] })],
      ['status=succeeded, page 20 of a cursor chain (20 queries)', deep({ statuses: ['succeeded'] }, 20)],
    ];
    for (const [name, fn] of cases) {
      const m = time(fn, reps);
      queries.push({ query: `tasks: ${name}`, p50_ms: m.p50, p95_ms: m.p95, rows: m.rows });
    }
    await store.close();
    const taskMib = statSync(path).size / 2 ** 20;

    const logPath = join(dir, 'logs.db');
    const logs = new SqliteLogStore(logPath, { maxBytes: Number.MAX_SAFE_INTEGER });
    const lr = rand(7);
    const logStart = performance.now();
    for (let i = 0; i < lines; ) {
      const batch = [];
      for (const end = Math.min(lines, i + 1000); i < end; i++) {
        const taskNo = Math.floor(lr() * (lines / 10));
        batch.push({ ts: t0 + i, level: (i % 50 === 0 ? 'warn' : 'info') as 'warn' | 'info', source: `w-${i % 16}`, worker_id: `w-${i % 16}`, task_id: `task-${taskNo}`, msg: `task ${taskNo} step ${i % 7} ${VOCAB[Math.floor(lr() * VOCAB.length)]} done` });
      }
      logs.append(batch);
    }
    logs.flush();
    const logInsert = lines / ((performance.now() - logStart) / 1000);
    const logPage = (filter: LogFilter) => () => logs.page({ filter, limit: 100 }).length;
    const logCases: [string, () => number][] = [
      ['one task\'s lines (task=)', () => logs.page({ filter: { taskId: `task-${Math.floor(lr() * (lines / 10))}` }, limit: 1000 }).length],
      ['level=warn', logPage({ minLevel: 'warn' })],
      ['worker=w-5', logPage({ workerId: 'w-5' })],
      ['q=<word>', logPage({ text: VOCAB[5]! })],
    ];
    for (const [name, fn] of logCases) {
      const m = time(fn, reps);
      queries.push({ query: `logs: ${name}`, p50_ms: m.p50, p95_ms: m.p95, rows: m.rows });
    }
    await logs.close();
    return { tasks: n, task_insert_per_s: taskInsert, task_db_mib: taskMib, log_lines: lines, log_insert_per_s: logInsert, log_db_mib: statSync(logPath).size / 2 ** 20, queries };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printSearchBench(r: SearchBenchResult): void {
  console.log(`\nsearch: ${r.tasks} tasks in SQLite (${fmt(r.task_insert_per_s, 0)} tasks/s through put/commit, ${fmt(r.task_db_mib, 0)} MiB), ${r.log_lines} log lines (${fmt(r.log_insert_per_s, 0)} lines/s, ${fmt(r.log_db_mib, 0)} MiB)`);
  console.log('query'.padEnd(70) + 'p50 ms'.padStart(10) + 'p95 ms'.padStart(10) + 'rows'.padStart(8));
  for (const q of r.queries) console.log(q.query.padEnd(70) + fmt(q.p50_ms).padStart(10) + fmt(q.p95_ms).padStart(10) + String(q.rows).padStart(8));
}
