/**
 * `npm run bench -- logs [--lines=N]`: the log store (`logs.db`, master/logs)
 * at scale. Appends N lines (default 1,000,000; quick: 100,000) through
 * `SqliteLogStore.append` in the collector's batches (so the indexes and the
 * FTS5 trigger are paid as in production), then times the queries
 * GET /api/v1/logs makes (one task's lines, level, worker, time range,
 * full-text, a page deep into a cursor chain, a follow page), reports the file
 * size, and times retention: pruning the oldest 10% by age, then the byte
 * bound taking another 10%, with the queries timed again afterwards.
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLogStore } from '../master/logs/sqlite-log-store.js';
import type { LogFilter, NewLogEntry } from '../master/logs/log-entry.js';
import type { LogBounds } from '../master/logs/log-store.js';
import { fmt, percentile } from './stats.js';

export interface LogsBenchOptions {
  quick?: boolean;
  /** Lines to append (overrides quick). */
  lines?: number;
}

export interface LogsBenchQuery {
  query: string;
  p50_ms: number;
  p95_ms: number;
  rows: number;
}

export interface LogsBenchResult {
  lines: number;
  insert_per_s: number;
  insert_s: number;
  db_mib: number;
  bytes_per_line: number;
  queries: LogsBenchQuery[];
  retention: { pruned_by_age: number; age_prune_s: number; age_prune_per_s: number; pruned_by_bytes: number; bytes_prune_s: number; db_mib_after: number };
  queries_after_prune: LogsBenchQuery[];
}

const VOCAB = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x`);
const BATCH = 1000;
const WORKERS = 32;

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function fileMib(path: string): number {
  let bytes = 0;
  for (const f of [path, `${path}-wal`]) if (existsSync(f)) bytes += statSync(f).size;
  return bytes / 2 ** 20;
}

function time(fn: () => number, reps: number): { p50: number; p95: number; rows: number } {
  const samples: number[] = [];
  let rows = 0;
  fn();
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    rows = fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), rows };
}

export async function runLogsBench({ quick = false, lines: wanted }: LogsBenchOptions = {}): Promise<LogsBenchResult> {
  const lines = wanted ?? (quick ? 100_000 : 1_000_000);
  const tasks = Math.max(1, Math.floor(lines / 10));
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-logs-bench-'));
  try {
    const path = join(dir, 'logs.db');
    const bounds: LogBounds = { maxBytes: Number.MAX_SAFE_INTEGER };
    const logs = new SqliteLogStore(path, bounds);
    const r = rand(7);
    // One line per ms of history, ending now.
    const t0 = Date.now() - lines;
    const started = performance.now();
    let lastReport = started;
    for (let i = 0; i < lines; ) {
      const batch: NewLogEntry[] = [];
      for (const end = Math.min(lines, i + BATCH); i < end; i++) {
        const taskNo = Math.floor(r() * tasks);
        const w = `w-${i % WORKERS}`;
        const words = `${VOCAB[Math.floor(r() * r() * VOCAB.length)]} ${VOCAB[Math.floor(r() * VOCAB.length)]}`;
        const rare = i % 100_000 === 4242 ? ' needlezebra' : '';
        batch.push({ ts: t0 + i, level: i % 50 === 0 ? 'warn' : i % 997 === 0 ? 'error' : 'info', source: w, worker_id: w, task_id: i % 20 === 0 ? null : `task-${taskNo}`, msg: `task ${taskNo} step ${i % 7} ${words}${rare} done` });
      }
      logs.append(batch);
      const now = performance.now();
      if (now - lastReport > 30_000) {
        lastReport = now;
        console.error(`logs bench: ${i} / ${lines} lines appended (${fmt(i / ((now - started) / 1000), 0)} lines/s)`);
      }
    }
    logs.flush();
    const insertS = (performance.now() - started) / 1000;
    const dbMib = fileMib(path);
    const reps = quick ? 20 : 30;
    const q = rand(11);
    const page = (filter: LogFilter, limit = 100) => () => logs.page({ filter, limit }).length;
    const deep = (filter: LogFilter, pages: number) => () => {
      let before: number | undefined;
      let got = 0;
      for (let p = 0; p < pages; p++) {
        const res = logs.page({ filter, limit: 100, beforeId: before });
        got = res.length;
        if (res.length < 100) break;
        before = res[res.length - 1]!.id;
      }
      return got;
    };
    const cases = (): [string, () => number][] => {
      const mid = t0 + Math.floor(lines / 2);
      return [
        ["one task's lines (task=)", () => logs.page({ filter: { taskId: `task-${Math.floor(q() * tasks)}` }, limit: 1000 }).length],
        ['no filter, newest page', page({})],
        ['level=warn', page({ minLevel: 'warn' })],
        ['level=error', page({ minLevel: 'error' })],
        ['worker=w-5', page({ workerId: 'w-5' })],
        ['worker=w-5&level=warn', page({ workerId: 'w-5', minLevel: 'warn' })],
        ['since/until: one minute in the middle', page({ sinceTs: mid, untilTs: mid + 60_000 })],
        ['q=<common word>', page({ text: VOCAB[0]! })],
        ['q=<rarer word>', page({ text: VOCAB[4000]! })],
        ['q=needlezebra (1 line in 100k)', page({ text: 'needlezebra' })],
        ['q=<common word>&worker=w-5', page({ text: VOCAB[1]!, workerId: 'w-5' })],
        ['worker=w-5, page 20 of a cursor chain (20 queries)', deep({ workerId: 'w-5' }, 20)],
        ['follow: lines after id (last 500)', () => logs.page({ filter: {}, limit: 1000, afterId: logs.lastId - 500 }).length],
      ];
    };
    const run = (): LogsBenchQuery[] =>
      cases().map(([name, fn]) => {
        const m = time(fn, reps);
        return { query: name, p50_ms: m.p50, p95_ms: m.p95, rows: m.rows };
      });
    const queries = run();

    // Retention: the oldest 10% by age, then the byte bound takes another 10%.
    const ageStart = performance.now();
    const prunedByAge = await logs.prune(t0 + Math.floor(lines / 10));
    const ageS = (performance.now() - ageStart) / 1000;
    bounds.maxBytes = Math.floor(logs.keptBytes * (8 / 9));
    const bytesStart = performance.now();
    const prunedByBytes = await logs.prune(0);
    const bytesS = (performance.now() - bytesStart) / 1000;
    const queriesAfter = run();
    await logs.close();
    return {
      lines,
      insert_per_s: lines / insertS,
      insert_s: insertS,
      db_mib: dbMib,
      bytes_per_line: (dbMib * 2 ** 20) / lines,
      queries,
      retention: { pruned_by_age: prunedByAge, age_prune_s: ageS, age_prune_per_s: prunedByAge / ageS, pruned_by_bytes: prunedByBytes, bytes_prune_s: bytesS, db_mib_after: fileMib(path) },
      queries_after_prune: queriesAfter,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printLogsBench(r: LogsBenchResult): void {
  console.log(`\nlogs: ${r.lines} lines appended in ${fmt(r.insert_s, 0)} s (${fmt(r.insert_per_s, 0)} lines/s), logs.db ${fmt(r.db_mib, 0)} MiB (${fmt(r.bytes_per_line, 0)} bytes/line)`);
  const table = (rows: LogsBenchQuery[]) => {
    console.log('query'.padEnd(56) + 'p50 ms'.padStart(10) + 'p95 ms'.padStart(10) + 'rows'.padStart(8));
    for (const q of rows) console.log(q.query.padEnd(56) + fmt(q.p50_ms).padStart(10) + fmt(q.p95_ms).padStart(10) + String(q.rows).padStart(8));
  };
  table(r.queries);
  const t = r.retention;
  console.log(`retention: age pruned ${t.pruned_by_age} lines in ${fmt(t.age_prune_s, 1)} s (${fmt(t.age_prune_per_s, 0)} lines/s), byte bound pruned ${t.pruned_by_bytes} in ${fmt(t.bytes_prune_s, 1)} s; file ${fmt(t.db_mib_after, 0)} MiB after (logs.db + WAL; freed pages are reused, not returned)`);
  console.log('after pruning:');
  table(r.queries_after_prune);
}
