/**
 * `npm run bench -- overhead`: what metrics and tracing cost the core path.
 * Three configurations of the same cluster (in-memory master, one worker
 * process of capacity 512, echo tasks submitted in process, 4096
 * outstanding), measured alternately in each run so the machine's noise hits
 * them alike, medians compared:
 *
 * - `off`:     the master's MetricObserver stopped (no task events are even
 *              built for it), the worker without a metrics port or summary;
 * - `master`:  the shipped default: the master's metrics, the worker without;
 * - `metrics`: the master's metrics plus the worker's own metrics with its
 *              summary in the status (TASKWIRE_METRICS_SUMMARY=on);
 * - `traced`:  `metrics` plus OpenTelemetry on master and worker, exporting
 *              OTLP/HTTP to a local sink that reads and drops the bodies.
 *
 * The issue's bound is metrics within 1% of off; tracing has no bound (it is
 * off by default). Besides throughput, each run measures the CPU time the
 * cluster spent per task: the master's (this process: `process.cpuUsage()`,
 * the other, idle clusters' timers included) and the worker process's
 * (utime + stime from /proc/<pid>/stat). CPU per task is what metrics add to
 * the path, and it is much less sensitive than throughput to other load on a
 * shared machine (a busy neighbour slows a run but barely changes the CPU it
 * needs). The four masters share this process's heap, so each run ends with a
 * full garbage collection counted in that run's master CPU: garbage one
 * configuration made is not collected (and paid for) in another's run.
 * Then the master's metrics alone are measured A/B on one master (its
 * observer paused and resumed between alternating runs), which takes the
 * differences between clusters out of that comparison.
 *
 * Last, what those A/B runs cannot resolve on a 2-core machine (a run's CPU
 * per task moves by more than 1% with the neighbours): the recording alone.
 * The events of the real tasks just run (queued, assigned, succeeded, with
 * their records) are replayed through a fresh event stream into a
 * MetricObserver on fresh MasterMetrics, observer resumed and paused in
 * alternating runs (a no-op listener keeps every event built and stamped in
 * both, as the master's other subscribers do); the difference is the CPU the
 * metrics add per task, set against the master's CPU per task measured above.
 * The same for the worker's metrics (per attempt, against the worker's CPU per
 * task without metrics) and the usage metrics (per ledger row, against the
 * master's): recording-cost.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Master } from '../master/master.js';
import { FINAL_EVENT_TYPES, TaskEvents, finalFields } from '../master/core/task-events.js';
import type { TaskRecord } from '../master/core/task-record.js';
import { RejectionLog } from '../master/core/rejection-log.js';
import { MasterMetrics } from '../master/observability/metrics.js';
import { MetricObserver } from '../master/observability/metric-observer.js';
import { silentLogger } from '../common/logger.js';
import { inProcessSubmit, throughput } from './core-bench.js';
import { median } from './stats.js';
import { usageRecordingCost, workerRecordingCost, type OnOff } from './recording-cost.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'taskwire.js');
const CONFIGS = ['off', 'master', 'metrics', 'traced'] as const;
type Config = (typeof CONFIGS)[number];

export interface OverheadBenchResult {
  total_per_run: number;
  runs: Record<Config, number[]>;
  median_tasks_per_s: Record<Config, number>;
  /** median(x) / median(off). */
  ratio_master_to_off: number;
  ratio_metrics_to_off: number;
  ratio_traced_to_off: number;
  /** CPU microseconds per task (median over runs): master (this process), worker (its process), both. */
  cpu_us_per_task: Record<Config, { master: number; worker: number; total: number }>;
  /** median total CPU per task of x over off's (1.01: 1% more CPU per task). */
  cpu_ratio_master_to_off: number;
  cpu_ratio_metrics_to_off: number;
  cpu_ratio_traced_to_off: number;
  /**
   * The master's metrics on one master (the `master` cluster), observer
   * paused and resumed between alternating runs: no second cluster, heap or
   * JIT state differs. CPU µs per task of the master process, medians.
   */
  same_master: { on_us: number; off_us: number; ratio: number; on_runs: number[]; off_runs: number[] };
  /** The recording alone (see the header): CPU ns per replayed task, observer on and off, medians; `share` = added / same_master.off_us. */
  recording: { tasks_per_run: number; on_ns: number; off_ns: number; added_ns: number; share_of_master_cpu: number; on_runs: number[]; off_runs: number[] };
  /** The worker's metric recording alone (recording-cost.ts): CPU ns per attempt; `share` = added / the worker's CPU per task without metrics (`master` above). */
  worker_recording: RecordingFigures;
  /** The usage metrics' recording alone (recording-cost.ts): CPU ns per ledger row; `share` = added / same_master.off_us. */
  usage_recording: RecordingFigures;
  spans_received_bytes: number;
}

export interface RecordingFigures {
  per_run: number;
  on_ns: number;
  off_ns: number;
  added_ns: number;
  /** What `added_ns` is of the process's CPU per task it is compared with. */
  share: number;
  on_runs: number[];
  off_runs: number[];
}

function recordingFigures(r: OnOff, perRun: number, cpuUsPerTask: number): RecordingFigures {
  const added = median(r.on) - median(r.off);
  return {
    per_run: perRun,
    on_ns: Math.round(median(r.on)),
    off_ns: Math.round(median(r.off)),
    added_ns: Math.round(added),
    share: Math.round((added / 1000 / cpuUsPerTask) * 100_000) / 100_000,
    on_runs: r.on.map(Math.round),
    off_runs: r.off.map(Math.round),
  };
}

/** CPU ns per task of replaying `records`' queued, assigned and final events `perRun` times per run, observer on and off alternately. */
export function recordingCost(master: Master, records: readonly TaskRecord[], perRun: number, runs: number): { on: number[]; off: number[] } {
  const events = new TaskEvents(() => Date.now());
  // As the master's other subscribers do: every event is built and stamped, observer or not.
  const stampAll = events.on(['task.queued', 'task.assigned', ...FINAL_EVENT_TYPES], () => {});
  const observer = new MetricObserver({
    metrics: new MasterMetrics(),
    events,
    rejections: new RejectionLog(silentLogger()),
    registry: master.registry,
    queued: () => 0,
    running: () => 0,
  });
  const replay = (n: number) => {
    for (let i = 0; i < n; i++) {
      const t = records[i % records.length]!;
      // Literals, as the core publishes these two (an object spread into a new literal, then stamped, costs µs on Node 20).
      events.publish('task.queued', { task_id: t.id, kind: t.kind, attempt: t.attempt, session_id: t.sessionId, owner: null, priority: t.priority }, t);
      events.publish('task.assigned', { task_id: t.id, kind: t.kind, attempt: t.attempt, session_id: t.sessionId, owner: null, worker_id: t.workerId ?? '' }, t);
      events.publish('task.succeeded', finalFields(t), t);
    }
  };
  const out = { on: [] as number[], off: [] as number[] };
  try {
    replay(perRun); // JIT, both ways
    observer.pause();
    replay(perRun);
    for (let r = 0; r < runs * 2; r++) {
      const on = r % 2 === Math.floor(r / 2) % 2;
      if (on) observer.resume();
      else observer.pause();
      const c0 = process.cpuUsage();
      replay(perRun);
      const c = process.cpuUsage(c0);
      (on ? out.on : out.off).push(((c.user + c.system) * 1000) / perRun);
    }
  } finally {
    observer.stop();
    stampAll();
  }
  return out;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); 0 elsewhere. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces), 1-based: utime is 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** A full collection, for the CPU accounting of each run (`--expose-gc` set at run time). */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function masterCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Cluster {
  master: Master;
  worker: ChildProcess;
  close(): Promise<void>;
}

async function startSink(): Promise<{ url: string; bytes: () => number; close(): Promise<void> }> {
  let bytes = 0;
  const server: Server = createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function startCluster(config: Config, otlp: string): Promise<Cluster> {
  const tracingEnv = config === 'traced' ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } : {};
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000 },
    { logger: { logger: silentLogger() }, tracingEnv },
  );
  if (config === 'off') master.metricObserver.stop();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TASKWIRE_MQTT_URL: master.mqttUrl,
    TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
    TASKWIRE_CLUSTER_TOKEN: master.clusterToken,
    TASKWIRE_WORKER_CAPACITY: '512',
    TASKWIRE_WORKER_ID: `bench-overhead-${process.pid}-${config}`,
    TASKWIRE_WORKER_KINDS: 'echo,sleep',
    TASKWIRE_LOG_LEVEL: 'warn',
    TASKWIRE_METRICS_SUMMARY: config === 'off' || config === 'master' ? 'off' : 'on',
  };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  delete env.TASKWIRE_METRICS_PORT;
  if (config === 'traced') env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp;
  const worker = spawn(process.execPath, [CLI, 'worker'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const until = Date.now() + 20_000;
  while (master.registry.schedulable().length < 1) {
    if (Date.now() > until) throw new Error('worker did not register');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    master,
    worker,
    async close() {
      worker.kill('SIGTERM');
      if (worker.exitCode === null) await once(worker, 'exit');
      await master.close();
    },
  };
}

export async function runOverheadBench(opts: { quick?: boolean } = {}): Promise<OverheadBenchResult> {
  const total = opts.quick ? 5000 : 20_000;
  const runs = opts.quick ? 3 : 7;
  const sink = await startSink();
  const clusters = {} as Record<Config, Cluster>;
  try {
    for (const c of CONFIGS) clusters[c] = await startCluster(c, sink.url);
    // Warm-up of every configuration at the measured load (JIT of master and worker).
    for (const c of CONFIGS) await throughput(clusters[c].master, inProcessSubmit(clusters[c].master), total, 4096);
    const out = { off: [] as number[], master: [] as number[], metrics: [] as number[], traced: [] as number[] };
    const gc = fullGc();
    gc();
    const cpu = Object.fromEntries(CONFIGS.map((c) => [c, { master: [] as number[], worker: [] as number[], total: [] as number[] }])) as Record<
      Config,
      { master: number[]; worker: number[]; total: number[] }
    >;
    for (let r = 0; r < runs; r++) {
      // Rotate the order too: no configuration always runs first or last.
      for (let k = 0; k < CONFIGS.length; k++) {
        const c = CONFIGS[(r + k) % CONFIGS.length]!;
        const pid = clusters[c].worker.pid!;
        const m0 = masterCpuSeconds();
        const w0 = processCpuSeconds(pid);
        out[c].push(await throughput(clusters[c].master, inProcessSubmit(clusters[c].master), total, 4096));
        gc(); // this run's garbage, paid by this run
        const m = ((masterCpuSeconds() - m0) / total) * 1e6;
        const w = ((processCpuSeconds(pid) - w0) / total) * 1e6;
        cpu[c].master.push(m);
        cpu[c].worker.push(w);
        cpu[c].total.push(m + w);
      }
    }
    // The master's metrics alone, A/B on one master: paused (off) and resumed (on) in turn.
    const ab = { on: [] as number[], off: [] as number[] };
    const one = clusters.master.master;
    for (let r = 0; r < runs * 2; r++) {
      const on = r % 2 === Math.floor(r / 2) % 2; // on,off then off,on ...: neither always first
      if (on) one.metricObserver.resume();
      else one.metricObserver.pause();
      const m0 = masterCpuSeconds();
      await throughput(one, inProcessSubmit(one), total, 4096);
      gc();
      (on ? ab.on : ab.off).push(((masterCpuSeconds() - m0) / total) * 1e6);
    }
    one.metricObserver.resume();
    const done = one.tasks.list({ status: 'succeeded', limit: 10_000 });
    const perRun = opts.quick ? 100_000 : 400_000;
    const rec = recordingCost(one, done, perRun, runs);
    const workerRec = workerRecordingCost(perRun, runs);
    const rows = one.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }).slice(-10_000);
    const usageRec = usageRecordingCost(rows, perRun, runs);
    const med = { off: median(out.off), master: median(out.master), metrics: median(out.metrics), traced: median(out.traced) };
    const r1 = (x: number) => Math.round(x * 10) / 10;
    const cpuMed = Object.fromEntries(
      CONFIGS.map((c) => [c, { master: r1(median(cpu[c].master)), worker: r1(median(cpu[c].worker)), total: r1(median(cpu[c].total)) }]),
    ) as OverheadBenchResult['cpu_us_per_task'];
    const cpuRatio = (c: Config) => Math.round((median(cpu[c].total) / median(cpu.off.total)) * 1000) / 1000;
    return {
      total_per_run: total,
      runs: { off: out.off.map(Math.round), master: out.master.map(Math.round), metrics: out.metrics.map(Math.round), traced: out.traced.map(Math.round) },
      median_tasks_per_s: { off: Math.round(med.off), master: Math.round(med.master), metrics: Math.round(med.metrics), traced: Math.round(med.traced) },
      ratio_master_to_off: Math.round((med.master / med.off) * 1000) / 1000,
      ratio_metrics_to_off: Math.round((med.metrics / med.off) * 1000) / 1000,
      ratio_traced_to_off: Math.round((med.traced / med.off) * 1000) / 1000,
      cpu_us_per_task: cpuMed,
      cpu_ratio_master_to_off: cpuRatio('master'),
      cpu_ratio_metrics_to_off: cpuRatio('metrics'),
      cpu_ratio_traced_to_off: cpuRatio('traced'),
      same_master: {
        on_us: r1(median(ab.on)),
        off_us: r1(median(ab.off)),
        ratio: Math.round((median(ab.on) / median(ab.off)) * 1000) / 1000,
        on_runs: ab.on.map(r1),
        off_runs: ab.off.map(r1),
      },
      recording: {
        tasks_per_run: perRun,
        on_ns: Math.round(median(rec.on)),
        off_ns: Math.round(median(rec.off)),
        added_ns: Math.round(median(rec.on) - median(rec.off)),
        share_of_master_cpu: Math.round(((median(rec.on) - median(rec.off)) / 1000 / median(ab.off)) * 10_000) / 10_000,
        on_runs: rec.on.map(Math.round),
        off_runs: rec.off.map(Math.round),
      },
      worker_recording: recordingFigures(workerRec, perRun, median(cpu.master.worker)),
      usage_recording: recordingFigures(usageRec, perRun, median(ab.off)),
      spans_received_bytes: sink.bytes(),
    };
  } finally {
    for (const c of CONFIGS) await clusters[c]?.close();
    await sink.close();
  }
}

export function printOverheadBench(r: OverheadBenchResult): void {
  console.log(`\nMetrics and tracing overhead (1 worker process, in-process echo submits, ${r.total_per_run} tasks per run, alternating)`);
  console.log('config    median tasks/s  CPU µs/task (master + worker = total)  runs (tasks/s)');
  for (const c of CONFIGS) {
    const u = r.cpu_us_per_task[c];
    const cpu = `${u.master} + ${u.worker} = ${u.total}`;
    console.log(`${c.padEnd(9)} ${String(r.median_tasks_per_s[c]).padStart(14)}  ${cpu.padEnd(37)}  ${r.runs[c].join(' ')}`);
  }
  console.log(`ratio master/off:  ${r.ratio_master_to_off} tasks/s, ${r.cpu_ratio_master_to_off} CPU per task  (the shipped default: master metrics only)`);
  console.log(`ratio metrics/off: ${r.ratio_metrics_to_off} tasks/s, ${r.cpu_ratio_metrics_to_off} CPU per task  (bound: tasks/s >= 0.99, CPU per task <= 1.01; master and worker metrics with the summary)`);
  console.log(`ratio traced/off:  ${r.ratio_traced_to_off} tasks/s, ${r.cpu_ratio_traced_to_off} CPU per task  (no bound; tracing is off by default)`);
  const sm = r.same_master;
  console.log(`master metrics on one master (observer paused/resumed, alternating): CPU µs/task on ${sm.on_us}, off ${sm.off_us}, ratio ${sm.ratio}`);
  console.log(`  on runs: ${sm.on_runs.join(' ')}; off runs: ${sm.off_runs.join(' ')}`);
  const rc = r.recording;
  console.log(
    `master metric recording alone (the events of ${rc.tasks_per_run} real tasks replayed, observer on/off alternating): CPU ns/task on ${rc.on_ns}, off ${rc.off_ns}, added ${rc.added_ns} = ${(rc.share_of_master_cpu * 100).toFixed(2)}% of the master's CPU per task (off, above)`,
  );
  console.log(`  on runs: ${rc.on_runs.join(' ')}; off runs: ${rc.off_runs.join(' ')}`);
  const wr = r.worker_recording;
  console.log(
    `worker metric recording alone (per attempt: running count x2, telemetry begin/end, attempt; on/off alternating, ${wr.per_run} per run): CPU ns/attempt on ${wr.on_ns}, off ${wr.off_ns}, added ${wr.added_ns} = ${(wr.share * 100).toFixed(2)}% of the worker's CPU per task (worker without metrics, \`master\` above)`,
  );
  console.log(`  on runs: ${wr.on_runs.join(' ')}; off runs: ${wr.off_runs.join(' ')}`);
  const ur = r.usage_recording;
  console.log(
    `usage metric recording alone (the ledger's rows into the usage metrics, on/off alternating, ${ur.per_run} per run): CPU ns/row on ${ur.on_ns}, off ${ur.off_ns}, added ${ur.added_ns} = ${(ur.share * 100).toFixed(2)}% of the master's CPU per task (off, above)`,
  );
  console.log(`  on runs: ${ur.on_runs.join(' ')}; off runs: ${ur.off_runs.join(' ')}`);
  console.log(`OTLP bytes received by the local sink: ${r.spans_received_bytes}`);
}
