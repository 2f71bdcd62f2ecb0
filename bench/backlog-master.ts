/**
 * The taskwire side of the 1M-backlog rows that run side by side with BullMQ
 * (backlog-bench.ts), in a process of its own so that its RSS is the master's
 * alone:
 *   node dist/bench/backlog-master.js <tasks> <workers> <capacity>
 * A real master on a SQLite store, no worker yet: <tasks> echo tasks
 * submitted in process in durable batches of 1,000 (as BullMQ's `addBulk` in
 * chunks of 1,000), the master's RSS, `GET /api/v1/tasks?limit=50` 50 times
 * over HTTP, then <workers> worker processes drain the queue (timed from their
 * start to the last result) and the RSS after. Prints one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Master } from '../master/master.js';
import { silentLogger } from '../common/logger.js';
import { processCpuSeconds, stopProcesses } from './bullmq-bench.js';
import { spawnWorkers } from './core-bench.js';
import type { TaskwireBacklogResult } from './peer-compare.js';
import { percentile } from './stats.js';

const [, , tasksArg, workersArg, capacityArg] = process.argv;
const tasks = Number(tasksArg);
const workerCount = Number(workersArg);
const capacity = Number(capacityArg);
if (![tasks, workerCount, capacity].every((x) => Number.isInteger(x) && x > 0)) {
  console.error('usage: backlog-master.js <tasks> <workers> <capacity>');
  process.exit(2);
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

const rssMiB = () => Math.round(process.memoryUsage().rss / 1048576);
const dataDir = mkdtempSync(join(tmpdir(), 'tw-backlog-master-'));
const master = await Master.create(
  { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000, dataDir },
  { logger: { logger: silentLogger() } },
);
let workers: Awaited<ReturnType<typeof spawnWorkers>> = [];
try {
  // No worker is online while the backlog fills: accept echo as an autoscaled kind is accepted.
  master.tasks.useScaleFromZero((kind) => kind === 'echo');
  const t0 = performance.now();
  for (let i = 0; i < tasks; i += 1000) {
    const n = Math.min(1000, tasks - i);
    await master.tasks.submitMany(Array.from({ length: n }, (_, j) => ({ kind: 'echo', input: { text: `task ${i + j}` } })));
  }
  const fill_s = (performance.now() - t0) / 1000;
  const master_rss_mib = rssMiB();
  const ms: number[] = [];
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    const status = await get(master.httpPort, '/api/v1/tasks?limit=50');
    ms.push(performance.now() - s);
    if (status !== 200) throw new Error(`GET /api/v1/tasks answered ${status}`);
  }
  ms.sort((a, b) => a - b);
  const done0 = master.tasks.counters.succeeded;
  const cpu0 = process.cpuUsage();
  const d0 = performance.now();
  workers = await spawnWorkers(master, workerCount, capacity);
  while (master.tasks.counters.succeeded - done0 < tasks) await new Promise((r) => setTimeout(r, 20));
  const drainSecs = (performance.now() - d0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6 + workers.reduce((s, w) => s + processCpuSeconds(w.pid), 0);
  const out: TaskwireBacklogResult = {
    tasks,
    fill_s,
    master_rss_mib,
    list_p50_ms: percentile(ms, 50),
    list_p95_ms: percentile(ms, 95),
    workers: workerCount,
    drain_tasks_per_s: Math.round(tasks / drainSecs),
    drain_cpu_us_per_task: Math.round((cpuSecs / tasks) * 1e6 * 10) / 10,
    master_rss_after_drain_mib: rssMiB(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await stopProcesses(workers);
  await master.close();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(0);
