/**
 * taskwire vs BullMQ + Redis, side by side: the rows core-bench.ts and
 * backlog-bench.ts measure alternating (bullmq-bench.ts is the peer side),
 * and how they are printed (both figures and the ratio taskwire / BullMQ).
 */
import { fmt, median, percentile } from './stats.js';
import type { BullBacklogResult, RedisMode } from './bullmq-bench.js';

export interface PeerThroughputRow {
  workers: number;
  taskwire_store: 'memory' | 'sqlite';
  bullmq_redis: RedisMode;
  taskwire_runs: number[];
  bullmq_runs: number[];
  taskwire_median_per_s: number;
  bullmq_median_per_s: number;
  /** taskwire / BullMQ (> 1: taskwire is faster). */
  ratio: number;
  /** All processes of each side (taskwire: master + workers; BullMQ: this process + Redis + workers), median of the runs. */
  taskwire_cpu_us_per_task: number;
  bullmq_cpu_us_per_task: number;
}

export interface LatencySummary {
  n: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
}

export interface PeerLatencyRow {
  taskwire_store: 'memory' | 'sqlite';
  bullmq_redis: RedisMode;
  rate_per_s: number;
  pairs: number;
  taskwire: LatencySummary;
  bullmq: LatencySummary;
}

export interface PeerCoreResult {
  skipped?: string;
  throughput: PeerThroughputRow[];
  latency: PeerLatencyRow[];
}

export const REDIS_FOR: Record<'memory' | 'sqlite', RedisMode> = { memory: 'memory', sqlite: 'aof' };
const REDIS_LABEL: Record<RedisMode, string> = { memory: 'Redis, no persistence', aof: 'Redis AOF everysec' };
const STORE_LABEL = { memory: 'memory store', sqlite: 'SQLite store' };

export function latencySummary(samplesMs: number[]): LatencySummary {
  const s = [...samplesMs].sort((a, b) => a - b);
  return { n: s.length, p50_ms: percentile(s, 50), p99_ms: percentile(s, 99), p999_ms: percentile(s, 99.9) };
}

/** Collects the alternating runs of one row: taskwire tasks/s and CPU per task, BullMQ the same. */
export class PeerThroughputCollector {
  private readonly rows = new Map<string, { workers: number; store: 'memory' | 'sqlite'; tw: number[]; twCpu: number[]; bull: number[]; bullCpu: number[] }>();

  private row(workers: number, store: 'memory' | 'sqlite') {
    const key = `${workers}|${store}`;
    let r = this.rows.get(key);
    if (!r) this.rows.set(key, (r = { workers, store, tw: [], twCpu: [], bull: [], bullCpu: [] }));
    return r;
  }

  taskwire(workers: number, store: 'memory' | 'sqlite', perS: number, cpuUsPerTask: number): void {
    const r = this.row(workers, store);
    r.tw.push(perS);
    r.twCpu.push(cpuUsPerTask);
  }

  bullmq(workers: number, store: 'memory' | 'sqlite', perS: number, cpuUsPerTask: number): void {
    const r = this.row(workers, store);
    r.bull.push(perS);
    r.bullCpu.push(cpuUsPerTask);
  }

  result(): PeerThroughputRow[] {
    return [...this.rows.values()].map((r) => {
      const tw = median(r.tw);
      const bull = median(r.bull);
      return {
        workers: r.workers,
        taskwire_store: r.store,
        bullmq_redis: REDIS_FOR[r.store],
        taskwire_runs: r.tw.map(Math.round),
        bullmq_runs: r.bull.map(Math.round),
        taskwire_median_per_s: Math.round(tw),
        bullmq_median_per_s: Math.round(bull),
        ratio: Math.round((tw / bull) * 100) / 100,
        taskwire_cpu_us_per_task: Math.round(median(r.twCpu) * 10) / 10,
        bullmq_cpu_us_per_task: Math.round(median(r.bullCpu) * 10) / 10,
      };
    });
  }
}

const lat = (l: LatencySummary) => `${fmt(l.p50_ms)} / ${fmt(l.p99_ms)} / ${fmt(l.p999_ms)}`;

export function printPeerCore(r: PeerCoreResult): void {
  console.log('\nSide by side: taskwire vs BullMQ + Redis (same no-op job, alternating runs; ratio = taskwire / BullMQ)');
  if (r.skipped) {
    console.log(`  BullMQ rows ${r.skipped}`);
    return;
  }
  console.log(`  ${'throughput (in-process submit vs queue.add)'.padEnd(58)} ${'taskwire/s'.padStart(10)} ${'BullMQ/s'.padStart(10)} ${'ratio'.padStart(6)}   CPU µs/task tw vs BullMQ   runs tw | BullMQ`);
  for (const t of r.throughput) {
    const label = `${t.workers} worker process${t.workers > 1 ? 'es' : ''}, ${STORE_LABEL[t.taskwire_store]} vs ${REDIS_LABEL[t.bullmq_redis]}`;
    console.log(
      `  ${label.padEnd(58)} ${String(t.taskwire_median_per_s).padStart(10)} ${String(t.bullmq_median_per_s).padStart(10)} ${fmt(t.ratio).padStart(6)}   ${`${fmt(t.taskwire_cpu_us_per_task, 1)} vs ${fmt(t.bullmq_cpu_us_per_task, 1)}`.padEnd(26)} ${t.taskwire_runs.join(', ')} | ${t.bullmq_runs.join(', ')}`,
    );
  }
  for (const l of r.latency) {
    console.log(
      `  submit -> result at ${l.rate_per_s}/s, ${STORE_LABEL[l.taskwire_store]} vs ${REDIS_LABEL[l.bullmq_redis]} (${l.pairs} pair${l.pairs > 1 ? 's' : ''}), p50 / p99 / p99.9 ms: taskwire ${lat(l.taskwire)} (n ${l.taskwire.n}), BullMQ ${lat(l.bullmq)} (n ${l.bullmq.n}); p99 taskwire / BullMQ ${fmt(l.taskwire.p99_ms / l.bullmq.p99_ms)}`,
    );
  }
}

/** What backlog-master.ts measures on a taskwire master with a big backlog. */
export interface TaskwireBacklogResult {
  tasks: number;
  fill_s: number;
  master_rss_mib: number;
  list_p50_ms: number;
  list_p95_ms: number;
  workers: number;
  drain_tasks_per_s: number;
  /** CPU of the master + workers per drained task. */
  drain_cpu_us_per_task: number;
  master_rss_after_drain_mib: number;
}

export interface PeerBacklogResult {
  skipped?: string;
  taskwire?: TaskwireBacklogResult;
  bullmq?: BullBacklogResult;
}

export function printPeerBacklog(r: PeerBacklogResult): void {
  console.log('\nSide by side with a big backlog: a taskwire master (SQLite store) vs BullMQ + Redis AOF everysec (ratio = taskwire / BullMQ)');
  if (r.skipped || !r.taskwire || !r.bullmq) {
    console.log(`  BullMQ rows ${r.skipped ?? 'skipped'}`);
    return;
  }
  const t = r.taskwire;
  const b = r.bullmq;
  const row = (what: string, tw: string, bull: string, ratio: number) => console.log(`  ${what.padEnd(52)} ${tw.padStart(22)} ${bull.padStart(22)} ${fmt(ratio).padStart(6)}`);
  console.log(`  ${`${t.tasks.toLocaleString('en')} queued`.padEnd(52)} ${'taskwire'.padStart(22)} ${'BullMQ'.padStart(22)} ${'ratio'.padStart(6)}`);
  row('fill, batches of 1,000 (submitMany vs addBulk), s', fmt(t.fill_s, 1), fmt(b.fill_s, 1), t.fill_s / b.fill_s);
  row('RSS with the backlog (master vs Redis), MiB', String(t.master_rss_mib), String(b.redis_rss_mib), t.master_rss_mib / b.redis_rss_mib);
  row('page of 50 (GET /api/v1/tasks vs getJobs), p50 / p95 ms', `${fmt(t.list_p50_ms)} / ${fmt(t.list_p95_ms)}`, `${fmt(b.get_jobs_p50_ms)} / ${fmt(b.get_jobs_p95_ms)}`, t.list_p50_ms / b.get_jobs_p50_ms);
  row(`drain with ${t.workers} worker processes, tasks/s`, String(t.drain_tasks_per_s), String(b.drain_jobs_per_s), t.drain_tasks_per_s / b.drain_jobs_per_s);
  row('  CPU per task while draining (all processes), µs', fmt(t.drain_cpu_us_per_task, 1), fmt(b.drain_cpu_us_per_job, 1), t.drain_cpu_us_per_task / b.drain_cpu_us_per_job);
  row('RSS after the drain, MiB', String(t.master_rss_after_drain_mib), String(b.redis_rss_after_drain_mib), t.master_rss_after_drain_mib / b.redis_rss_after_drain_mib);
}
