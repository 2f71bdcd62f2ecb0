/**
 * `npm run bench -- dashboard-cost`: what open dashboards and event-stream
 * followers cost the core path. One in-memory master (this process), one
 * worker process of capacity 512, no-op echo tasks submitted in process with
 * 4096 outstanding (as `overhead`), measured alternately without clients and
 * with 10 dashboard clients (the overview page: the event read-back, the live
 * SSE stream, GET /api/v1/cluster and /api/v1/dashboard/queue every 2 s)
 * plus 10 `taskwire events --follow`-style followers, all in a separate
 * client process (bench/dashboard-clients.ts) started before and stopped
 * after each "with" run. Reports tasks/s and the master's CPU per task
 * (process.cpuUsage of this process, a full GC per run counted in it), their
 * medians and the overhead, and the client process's CPU (it shares the
 * machine's cores: on a 2-core box part of the throughput drop is the
 * clients' own CPU, which real dashboards spend elsewhere).
 * `TASKWIRE_BENCH_PROFILE=<dir>` records each mode's measured phase
 * (bench/cpu-profile.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { silentLogger } from '../common/logger.js';
import { Master } from '../master/master.js';
import { inProcessSubmit, throughput } from './core-bench.js';
import { profiled } from './cpu-profile.js';
import { fmt, median } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'cli', 'taskwire.js');
const CLIENTS = join(HERE, 'dashboard-clients.js');
/** `--dashboards=N --followers=M` change the defaults (10 and 10). */
const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};

export interface DashboardCostResult {
  total_per_run: number;
  runs: number;
  dashboards: number;
  followers: number;
  tasks_per_s: { without: number[]; with: number[] };
  master_cpu_us_per_task: { without: number[]; with: number[] };
  /** The kernel's part of it (system time: mostly the sockets' writes). */
  master_sys_us_per_task: { without: number[]; with: number[] };
  median_tasks_per_s: { without: number; with: number };
  median_master_cpu_us_per_task: { without: number; with: number };
  /** 1 - with/without (0.05: 5% fewer tasks/s). */
  throughput_drop: number;
  /** with/without - 1 (0.30: 30% more master CPU per task). */
  master_cpu_overhead: number;
  client_cpu_us_per_task: number;
  events_delivered_per_run: number;
  client_reconnects: number;
}

function processCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(parts[11]) + Number(parts[12])) / 100;
  } catch {
    return 0;
  }
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const sysSeconds = () => process.cpuUsage().system / 1e6;

async function startClients(url: string, dashboards: number, followers: number): Promise<{ proc: ChildProcess; stop(): Promise<{ events: number; reconnects: number }> }> {
  const proc = spawn(process.execPath, [CLIENTS, url, String(dashboards), String(followers)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout! });
  const it = lines[Symbol.asyncIterator]();
  const ready = await Promise.race([it.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the dashboard clients did not connect in 30 s')), 30_000))]);
  if (ready.value !== 'ready') throw new Error(`dashboard clients: ${String(ready.value)}`);
  return {
    proc,
    async stop() {
      proc.kill('SIGTERM');
      const line = await it.next();
      if (proc.exitCode === null) await once(proc, 'exit');
      const counts = JSON.parse(String(line.value ?? '{}')) as { events?: number; reconnects?: number };
      return { events: counts.events ?? 0, reconnects: counts.reconnects ?? 0 };
    },
  };
}

export async function runDashboardCostBench(opts: { quick?: boolean } = {}): Promise<DashboardCostResult> {
  const total = opts.quick ? 5000 : 20_000;
  const runs = opts.quick ? 3 : 5;
  const dashboards = arg('dashboards', 10);
  const followers = arg('followers', 10);
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000 },
    { logger: { logger: silentLogger() } },
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TASKWIRE_MQTT_URL: master.mqttUrl,
    TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
    TASKWIRE_CLUSTER_TOKEN: master.clusterToken,
    TASKWIRE_WORKER_CAPACITY: '512',
    TASKWIRE_WORKER_ID: `bench-dashboard-cost-${process.pid}`,
    TASKWIRE_WORKER_KINDS: 'echo',
    TASKWIRE_LOG_LEVEL: 'warn',
  };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete env.TASKWIRE_METRICS_PORT;
  const worker = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${master.httpPort}`;
  try {
    const until = Date.now() + 20_000;
    while (master.registry.schedulable().length < 1) {
      if (Date.now() > until) throw new Error('worker did not register');
      await new Promise((r) => setTimeout(r, 20));
    }
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await throughput(master, inProcessSubmit(master), total, 4096); // warm-up
    const out = { without: [] as number[], with: [] as number[] };
    const cpu = { without: [] as number[], with: [] as number[] };
    const sys = { without: [] as number[], with: [] as number[] };
    const clientCpu: number[] = [];
    let events = 0;
    let reconnects = 0;
    gc();
    for (let r = 0; r < runs; r++) {
      for (const mode of r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        const clients = mode === 'with' ? await startClients(url, dashboards, followers) : undefined;
        if (clients) await new Promise((res) => setTimeout(res, 1000)); // read-backs done, streams live
        const c0 = clients ? processCpuSeconds(clients.proc.pid!) : 0;
        const m0 = cpuSeconds();
        const s0 = sysSeconds();
        // TASKWIRE_BENCH_PROFILE=<dir>: the last run of each mode as dashboard-cost-<mode>.cpuprofile.
        out[mode].push(await profiled(`dashboard-cost-${mode}`, () => throughput(master, inProcessSubmit(master), total, 4096)));
        gc();
        cpu[mode].push(((cpuSeconds() - m0) / total) * 1e6);
        sys[mode].push(((sysSeconds() - s0) / total) * 1e6);
        if (clients) {
          clientCpu.push(((processCpuSeconds(clients.proc.pid!) - c0) / total) * 1e6);
          const got = await clients.stop();
          events += got.events;
          reconnects += got.reconnects;
        }
      }
    }
    const mt = { without: median(out.without), with: median(out.with) };
    const mc = { without: median(cpu.without), with: median(cpu.with) };
    return {
      total_per_run: total,
      runs,
      dashboards,
      followers,
      tasks_per_s: out,
      master_cpu_us_per_task: cpu,
      master_sys_us_per_task: sys,
      median_tasks_per_s: mt,
      median_master_cpu_us_per_task: mc,
      throughput_drop: 1 - mt.with / mt.without,
      master_cpu_overhead: mc.with / mc.without - 1,
      client_cpu_us_per_task: median(clientCpu),
      events_delivered_per_run: events / runs,
      client_reconnects: reconnects,
    };
  } finally {
    worker.kill('SIGTERM');
    if (worker.exitCode === null) await once(worker, 'exit');
    await master.close();
  }
}

export function printDashboardCostBench(r: DashboardCostResult): void {
  console.log(`\ndashboard-cost: ${r.runs} alternating runs of ${r.total_per_run} echo tasks, without clients and with ${r.dashboards} dashboards + ${r.followers} event followers`);
  console.log(''.padEnd(12) + 'tasks/s (median)'.padStart(18) + 'master CPU µs/task'.padStart(20) + 'of it system'.padStart(14) + '   runs (tasks/s)');
  for (const m of ['without', 'with'] as const) {
    console.log(
      m.padEnd(12) +
        fmt(r.median_tasks_per_s[m], 0).padStart(18) +
        fmt(r.median_master_cpu_us_per_task[m], 1).padStart(20) +
        fmt(median(r.master_sys_us_per_task[m]), 1).padStart(14) +
        `   ${r.tasks_per_s[m].map((x) => fmt(x, 0)).join(' ')}`,
    );
  }
  console.log(`overhead: throughput ${fmt(r.throughput_drop * 100, 1)}% lower, master CPU per task ${fmt(r.master_cpu_overhead * 100, 1)}% higher; the client process used ${fmt(r.client_cpu_us_per_task, 1)} µs/task; ${fmt(r.events_delivered_per_run, 0)} events delivered to the clients per run, ${r.client_reconnects} reconnects`);
}
