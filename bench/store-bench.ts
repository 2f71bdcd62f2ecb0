/**
 * Store benchmark (`npm run bench -- store`): one master on SQLite vs one
 * master on PostgreSQL (a local server this bench starts: initdb in a temp
 * dir, 127.0.0.1, a free port; fsync on), same workers, no-op `echo` tasks
 * end to end, side by side in one run: throughput (in-process submit, REST
 * one task per request, REST batches of 100) and latency at 200 tasks/s.
 * For PostgreSQL it also reports the database's own CPU per task (server
 * processes' user+system time over a run) and rows per transaction: what
 * one master costs the database, and so what N masters would need. With
 * TASKWIRE_BENCH_PG_STATEMENTS=1 the server runs pg_stat_statements and the
 * bench prints the statements that took the most execution time per task
 * over the measured runs (where the database's cost goes). The in-process
 * PostgreSQL runs are also costed on their own (bench/pg-cost.ts): CPU per
 * task of the master's process (the bench's driver included), of the worker
 * processes and of PostgreSQL split by process, and WAL bytes per task.
 * TASKWIRE_BENCH_PROFILE=<dir> records those runs' CPU profiles of the
 * master's process (bench/cpu-profile.ts). TASKWIRE_BENCH_STORES=postgres runs PostgreSQL only,
 * TASKWIRE_BENCH_PATHS=in-process the in-process runs only (no REST, no latency), and
 * TASKWIRE_BENCH_TASKS=<n> sets the tasks per run (A/B runs of a change
 * to the PostgreSQL store).
 */
import { type Env, inProcessSubmit, latencyAtRate, restLoad, restThroughput, startEnv, throughput } from './core-bench.js';
import { fmt, median, summarize } from './stats.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../test/helpers/postgres.js';
import type { PostgresTaskStore } from '../master/store/postgres-task-store.js';
import { profiled } from './cpu-profile.js';
import { type PgCost, PgCostProbe, processCpuSeconds, settlePostgres, treeCpuSeconds } from './pg-cost.js';

type Kind = 'sqlite' | 'postgres';

const us = (seconds: number, tasks: number) => Math.round((seconds / tasks) * 1e6 * 10) / 10;

export interface StoreBenchResult {
  skipped?: string;
  throughput: { path: string; store: Kind; runs: number[]; median_tasks_per_s: number }[];
  latency: { path: string; store: Kind; rate_per_s: number; n: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number }[];
  /** PostgreSQL server CPU (all its processes) per task end to end, µs; rows per committed transaction. */
  postgres_cost?: { cpu_us_per_task: number; rows_per_transaction: number; tasks: number };
  /** With TASKWIRE_BENCH_PG_STATEMENTS=1: the statements with the most execution time, µs per task over the measured runs. */
  postgres_statements?: { query: string; calls: number; exec_us_per_task: number; wal_bytes_per_task: number; rows: number }[];
  /** The in-process PostgreSQL runs alone: CPU µs per task by process, WAL bytes per task. */
  in_process_cost?: {
    tasks: number;
    master_cpu_us_per_task: number;
    workers_cpu_us_per_task: number;
    postgres_cpu_us_per_task: number;
    postgres_by_process: { name: string; us_per_task: number }[];
    wal_bytes_per_task: number;
  };
}

export async function runStoreBench(opts: { quick?: boolean } = {}): Promise<StoreBenchResult> {
  if (!postgresAvailable()) return { skipped: postgresMissingReason(), throughput: [], latency: [] };
  const total = Number(process.env.TASKWIRE_BENCH_TASKS) || (opts.quick ? 5000 : 20_000);
  const inProcessOnly = process.env.TASKWIRE_BENCH_PATHS === 'in-process';
  const runs = opts.quick ? 1 : 3;
  const workers = 2;
  const statements = process.env.TASKWIRE_BENCH_PG_STATEMENTS === '1';
  const server = await Postgres.start(statements ? { settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } } : {});
  const out: StoreBenchResult = { throughput: [], latency: [] };
  let envs: Partial<Record<Kind, Env>> = {};
  try {
    const url = await server.createDatabase('taskwire_bench');
    const pgOnly = process.env.TASKWIRE_BENCH_STORES === 'postgres';
    envs = { ...(!pgOnly && { sqlite: await startEnv(workers, 512, 'sqlite') }), postgres: await startEnv(workers, 512, 'postgres', url) };
    const results = new Map<string, { path: string; store: Kind; runs: number[] }>();
    const record = (path: string, store: Kind, tps: number) => {
      const r = results.get(`${path}|${store}`) ?? { path, store, runs: [] };
      r.runs.push(tps);
      results.set(`${path}|${store}`, r);
    };
    const kinds = pgOnly ? (['postgres'] as const) : (['sqlite', 'postgres'] as const);
    for (const k of kinds) await throughput(envs[k]!.master, inProcessSubmit(envs[k]!.master), opts.quick ? 3000 : 10_000, 4096); // warm-up
    const pgStore = envs.postgres!.master.tasks.store as PostgresTaskStore;
    let pgTasks = 0;
    let pgCpu = 0;
    const inProc = { tasks: 0, master: 0, workers: 0, pg: [] as PgCost[] };
    const workersCpu = () => envs.postgres!.workers.reduce((s, w) => s + processCpuSeconds(w.pid), 0);
    const before = { ...pgStore.stats };
    if (statements) {
      await queryRows(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await queryRows(url, 'SELECT pg_stat_statements_reset()');
    }
    for (let r = 0; r < runs; r++) {
      for (const k of kinds) {
        const m = envs[k]!.master;
        const cpu0 = k === 'postgres' ? treeCpuSeconds(server.pid) : 0;
        if (k === 'postgres') {
          const probe = await PgCostProbe.start(server.pid, url);
          const m0 = process.cpuUsage();
          const w0 = workersCpu();
          record('in-process submit', k, await profiled(`store-postgres-in-process-${r}`, () => throughput(m, inProcessSubmit(m), total, 4096)));
          const mu = process.cpuUsage(m0);
          inProc.master += (mu.user + mu.system) / 1e6;
          inProc.workers += workersCpu() - w0;
          inProc.tasks += total;
          inProc.pg.push(await probe.stop());
        } else record('in-process submit', k, await throughput(m, inProcessSubmit(m), total, 4096));
        if (!inProcessOnly) {
          record('REST (client process)', k, await restThroughput(m, Math.round(total / 3), 32));
          record('REST batch of 100', k, await restThroughput(m, total, 4, 'batch'));
        }
        if (k === 'postgres') {
          pgCpu += treeCpuSeconds(server.pid) - cpu0;
          pgTasks += inProcessOnly ? total : total + Math.round(total / 3) + total;
        }
      }
    }
    const after = pgStore.stats;
    out.postgres_cost = {
      cpu_us_per_task: Math.round((pgCpu / pgTasks) * 1e6 * 10) / 10,
      rows_per_transaction: Math.round(((after.rows - before.rows) / Math.max(1, after.transactions - before.transactions)) * 10) / 10,
      tasks: pgTasks,
    };
    const byProcess = new Map<string, number>();
    for (const c of inProc.pg) for (const p of c.byProcess) byProcess.set(p.name, (byProcess.get(p.name) ?? 0) + p.seconds);
    out.in_process_cost = {
      tasks: inProc.tasks,
      master_cpu_us_per_task: us(inProc.master, inProc.tasks),
      workers_cpu_us_per_task: us(inProc.workers, inProc.tasks),
      postgres_cpu_us_per_task: us(inProc.pg.reduce((s, c) => s + c.cpuSeconds, 0), inProc.tasks),
      postgres_by_process: [...byProcess].sort((a, b) => b[1] - a[1]).map(([name, s]) => ({ name, us_per_task: us(s, inProc.tasks) })),
      wal_bytes_per_task: Math.round(inProc.pg.reduce((s, c) => s + c.walBytes, 0) / inProc.tasks),
    };
    if (statements) {
      const rows = await queryRows<{ query: string; calls: string; total_exec_time: number; rows: string; wal_bytes: string }>(
        url,
        `SELECT query, calls, total_exec_time, rows, wal_bytes FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 15`,
      );
      out.postgres_statements = rows.map((r) => ({
        query: statementShape(r.query),
        calls: Number(r.calls),
        exec_us_per_task: Math.round((r.total_exec_time * 1000 * 10) / pgTasks) / 10,
        wal_bytes_per_task: Math.round(Number(r.wal_bytes) / pgTasks),
        rows: Number(r.rows),
      }));
    }
    for (const r of results.values()) out.throughput.push({ path: r.path, store: r.store, runs: r.runs.map(Math.round), median_tasks_per_s: Math.round(median(r.runs)) });
    const seconds = opts.quick ? 3 : 10;
    // The steady rate's latency, not the bursts' after-work: PostgreSQL's checkpoint and autovacuum after the
    // throughput runs' ~140k tasks held commits for tens of ms for about a minute (p90 77 ms against 10 after it).
    if (!inProcessOnly) await settlePostgres(url);
    for (const k of inProcessOnly ? [] : kinds) {
      const m = envs[k]!.master;
      const lat = summarize(await latencyAtRate(m, inProcessSubmit(m), 200, seconds));
      out.latency.push({ path: 'in-process submit', store: k, rate_per_s: 200, n: lat.n, p50_ms: lat.p50, p90_ms: lat.p90, p99_ms: lat.p99, max_ms: lat.max });
      const rest = await restLoad(m, 'rate', 200 * seconds, 200);
      const ack = summarize(rest.ack_ms);
      out.latency.push({ path: 'REST submit -> 202 ack', store: k, rate_per_s: 200, n: ack.n, p50_ms: ack.p50, p90_ms: ack.p90, p99_ms: ack.p99, max_ms: ack.max });
    }
  } finally {
    for (const e of Object.values(envs)) await e?.close();
    await server.close();
  }
  return out;
}

/** A statement for the table: one line; a batch of data-modifying CTEs says which parts it has first. */
function statementShape(query: string): string {
  const parts = [...query.matchAll(/\w+ AS \((INSERT INTO \w+|UPDATE \w+)/g)].map((m) => m[1]);
  return `${parts.length > 1 ? `[${parts.join(' + ')}] ` : ''}${query.replace(/\s+/g, ' ')}`.slice(0, 160);
}

export function printStoreBench(r: StoreBenchResult): void {
  console.log('\nStore: one master on SQLite vs one master on PostgreSQL (local server, fsync on), 2 worker processes, no-op echo');
  if (r.skipped) {
    console.log(`  skipped: ${r.skipped}`);
    return;
  }
  console.log('  throughput                  store      tasks/s (median)   runs');
  for (const t of r.throughput) console.log(`  ${t.path.padEnd(27)} ${t.store.padEnd(9)} ${String(t.median_tasks_per_s).padStart(16)}   ${t.runs.join(', ')}`);
  console.log('  latency at a steady rate    store      rate/s      n    p50 ms   p90 ms   p99 ms   max ms');
  for (const l of r.latency) {
    console.log(`  ${l.path.padEnd(27)} ${l.store.padEnd(9)} ${String(l.rate_per_s).padStart(6)} ${String(l.n).padStart(6)} ${fmt(l.p50_ms).padStart(9)} ${fmt(l.p90_ms).padStart(8)} ${fmt(l.p99_ms).padStart(8)} ${fmt(l.max_ms).padStart(8)}`);
  }
  if (r.postgres_cost) {
    const c = r.postgres_cost;
    console.log(`  PostgreSQL cost: ${fmt(c.cpu_us_per_task, 1)} µs of server CPU per task (over ${c.tasks} tasks), ${fmt(c.rows_per_transaction, 1)} rows per transaction`);
    console.log(`  -> one database core carries about ${Math.round(1e6 / c.cpu_us_per_task)} tasks/s of this mix`);
  }
  if (r.in_process_cost) {
    const c = r.in_process_cost;
    const sum = c.master_cpu_us_per_task + c.workers_cpu_us_per_task + c.postgres_cpu_us_per_task;
    console.log(`  in-process submit on PostgreSQL, CPU per task (over ${c.tasks} tasks): master ${fmt(c.master_cpu_us_per_task, 1)} µs (its process, the bench's driver included),`);
    console.log(`    workers ${fmt(c.workers_cpu_us_per_task, 1)} µs, PostgreSQL ${fmt(c.postgres_cpu_us_per_task, 1)} µs; together ${fmt(sum, 1)} µs -> 2 free cores carry about ${Math.round(2e6 / sum)} tasks/s`);
    console.log(`    PostgreSQL by process: ${c.postgres_by_process.map((p) => `${p.name} ${fmt(p.us_per_task, 1)}`).join(', ')}`);
    console.log(`    WAL: ${c.wal_bytes_per_task} bytes per task`);
  }
  if (r.postgres_statements) {
    console.log('  statements by execution time (pg_stat_statements)   µs/task  WAL B/task      calls       rows');
    for (const st of r.postgres_statements) {
      console.log(`    ${fmt(st.exec_us_per_task, 1).padStart(8)} ${String(st.wal_bytes_per_task).padStart(10)} ${String(st.calls).padStart(10)} ${String(st.rows).padStart(10)}  ${st.query}`);
    }
  }
}
