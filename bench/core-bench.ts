/**
 * Core benchmark: no-op `echo` tasks over the full path
 *   submit -> MQTT (embedded aedes) -> worker process -> gRPC stream -> master
 * with the master in this process and workers as real child processes.
 * Two submission paths: the master's in-process submit API and REST (HTTP
 * keep-alive). Throughput with 1 and 4 workers; latency at a steady rate.
 * The in-process rows also run BullMQ + Redis side by side, alternating
 * (bullmq-bench.ts; TASKWIRE_BENCH_PEER=0 or no redis-server skips it).
 */
import { FINAL_EVENT_TYPES } from '../master/core/task-events.js';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Master } from '../master/master.js';
import { Worker } from '../worker/worker.js';
import { silentLogger } from '../common/logger.js';
import { fmt, median, summarize } from './stats.js';
import { type BullEnv, bullLatencyAtRate, bullThroughput, peerSkipReason, processCpuSeconds, startBullEnv } from './bullmq-bench.js';
import { type PeerCoreResult, PeerThroughputCollector, REDIS_FOR, latencySummary, printPeerCore } from './peer-compare.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'taskwire.js');

export interface Env {
  master: Master;
  workers: ChildProcess[];
  close(): Promise<void>;
}

export type StoreKind = 'memory' | 'sqlite' | 'postgres';

/** `postgres` needs `storeUrl` (store-bench.ts starts the server). */
export async function startEnv(workerCount: number, capacity: number, store: StoreKind, storeUrl?: string): Promise<Env> {
  const dataDir = store !== 'memory' ? mkdtempSync(join(tmpdir(), 'taskwire-bench-')) : '';
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000, dataDir, ...(store === 'postgres' && { store: storeUrl }) },
    { logger: { logger: silentLogger() } },
  );
  const workers = await spawnWorkers(master, workerCount, capacity);
  return {
    master,
    workers,
    async close() {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => (w.exitCode === null ? once(w, 'exit') : undefined)));
      await master.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `count` worker processes (echo, sleep) of `capacity` each for `master`; resolves once all are schedulable. */
export async function spawnWorkers(master: Master, count: number, capacity: number): Promise<ChildProcess[]> {
  const workers: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    workers.push(
      spawn(process.execPath, [CLI, 'worker'], {
        env: {
          ...process.env,
          TASKWIRE_MQTT_URL: master.mqttUrl,
          TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
          TASKWIRE_CLUSTER_TOKEN: master.clusterToken,
          TASKWIRE_WORKER_CAPACITY: String(capacity),
          TASKWIRE_WORKER_ID: `bench-${process.pid}-${count}-${i}`,
          TASKWIRE_WORKER_KINDS: 'echo,sleep',
          TASKWIRE_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
  }
  const until = Date.now() + 20_000;
  while (master.registry.schedulable().length < count) {
    if (Date.now() > until) throw new Error('workers did not register');
    await new Promise((r) => setTimeout(r, 20));
  }
  return workers;
}

type Submit = (i: number) => Promise<string> | string;

export function inProcessSubmit(master: Master): Submit {
  return (i) => master.tasks.admit({ kind: 'echo', input: { text: `t${i}` } }).task.id;
}

const REST_LOAD = join(dirname(fileURLToPath(import.meta.url)), 'rest-load.js');

export function restLoad(master: Master, mode: 'throughput' | 'rate' | 'batch', n: number, k: number): Promise<{ sent: number; errors: number; ack_ms: number[] }> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [REST_LOAD, `http://127.0.0.1:${master.httpPort}`, mode, String(n), String(k)], { maxBuffer: 64 << 20 }, (err, out) =>
      err ? reject(err) : resolve(JSON.parse(out) as { sent: number; errors: number; ack_ms: number[] }),
    ),
  );
}

/** REST submits from a separate client process (one task or a batch of 100 per request); tasks/s measured to the last result. */
export async function restThroughput(master: Master, n: number, concurrency: number, mode: 'throughput' | 'batch' = 'throughput'): Promise<number> {
  const start = master.tasks.counters.succeeded;
  const t0 = performance.now();
  const load = await restLoad(master, mode, n, concurrency);
  if (load.errors > 0) throw new Error(`${load.errors} REST submits failed`);
  while (master.tasks.counters.succeeded - start < n) await new Promise((r) => setImmediate(r));
  return n / ((performance.now() - t0) / 1000);
}

/** Keeps `window` tasks outstanding until `total` complete; returns tasks/s. */
export async function throughput(master: Master, submit: Submit, total: number, window: number): Promise<number> {
  let submitted = 0;
  let completed = 0;
  let failed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let pump!: () => void;
  const onDone = (t: { status: string }) => {
    completed++;
    if (t.status !== 'succeeded') failed++;
    if (completed === total) resolveDone();
    else pump();
  };
  const offDone = master.tasks.events.on(FINAL_EVENT_TYPES, (_e, t) => onDone(t));
  const t0 = performance.now();
  let inFlightSubmits = 0;
  pump = () => {
    while (submitted < total && submitted - completed < window && inFlightSubmits < 64) {
      const i = submitted++;
      const r = submit(i);
      if (typeof r !== 'string') {
        inFlightSubmits++;
        void r.then(() => {
          inFlightSubmits--;
          pump();
        });
      }
    }
  };
  pump();
  await done;
  const secs = (performance.now() - t0) / 1000;
  offDone();
  if (failed > 0) throw new Error(`${failed} tasks failed`);
  return total / secs;
}

/** Submits at a steady rate; returns submit -> result latencies (ms). */
export async function latencyAtRate(master: Master, submit: Submit, rate: number, seconds: number): Promise<number[]> {
  const started = new Map<string, number>();
  const pendingIds = new Map<number, number>();
  const lat: number[] = [];
  const total = rate * seconds;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const early = new Map<string, number>();
  const onDone = (t: { id: string }) => {
    const now = performance.now();
    const s = started.get(t.id);
    if (s === undefined) early.set(t.id, now);
    else {
      lat.push(now - s);
      started.delete(t.id);
    }
    if (lat.length === total) resolveDone();
  };
  const offDone = master.tasks.events.on(FINAL_EVENT_TYPES, (_e, t) => onDone(t));
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = performance.now();
    pendingIds.set(i, s);
    void Promise.resolve(submit(i)).then((id) => {
      const e = early.get(id);
      if (e !== undefined) {
        lat.push(e - s);
        early.delete(id);
        if (lat.length === total) resolveDone();
      } else started.set(id, s);
    });
  }
  await done;
  offDone();
  return lat;
}

export interface CoreBenchResult {
  throughput: { path: string; store: StoreKind; workers: number; runs: number[]; median_tasks_per_s: number; master_cpu_us_per_task?: number }[];
  latency: { path: string; store: StoreKind; rate_per_s: number; n: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number }[];
  registration_ms: number[];
  peer: PeerCoreResult;
}

/** Worker MQTT connect -> the master lists it as schedulable (same process, same clock). */
async function registrationTimes(n: number): Promise<number[]> {
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false },
    { logger: { logger: silentLogger() } },
  );
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const id = `reg-${process.pid}-${i}`;
      let connectedAt = 0;
      const seen = new Promise<number>((resolve) => {
        const on = (w: { id: string }) => {
          if (w.id !== id) return;
          master.registry.off('online', on);
          resolve(performance.now());
        };
        master.registry.on('online', on);
      });
      const worker = await Worker.create(
        { workerId: id, mqttUrl: master.mqttUrl, mqttPassword: master.clusterToken, logToStdout: false, healthFile: `/tmp/${id}.health` },
        { logger: { logger: silentLogger() } },
      );
      connectedAt = (worker as unknown as { connectedAtPerf: number }).connectedAtPerf;
      out.push((await seen) - connectedAt);
      await worker.close(0);
    }
  } finally {
    await master.close();
  }
  return out;
}

export async function runCoreBench(opts: { total?: number; runs?: number; quick?: boolean } = {}): Promise<CoreBenchResult> {
  const total = opts.total ?? (opts.quick ? 5000 : 30_000);
  const runs = opts.runs ?? (opts.quick ? 1 : 3);
  const skipped = peerSkipReason();
  const out: CoreBenchResult = { throughput: [], latency: [], registration_ms: [], peer: { ...(skipped && { skipped }), throughput: [], latency: [] } };
  const peer = new PeerThroughputCollector();
  out.registration_ms = (await registrationTimes(opts.quick ? 5 : 20)).map((x) => Math.round(x * 100) / 100);
  for (const workers of [1, 4]) {
    const envs: Record<'memory' | 'sqlite', Env> = { memory: await startEnv(workers, 512, 'memory'), sqlite: await startEnv(workers, 512, 'sqlite') };
    // The peer: one Redis per store kind, BullMQ workers with the same concurrency as taskwire's capacity.
    const bull: Partial<Record<'memory' | 'sqlite', BullEnv>> = {};
    try {
      if (!skipped) for (const store of ['memory', 'sqlite'] as const) bull[store] = await startBullEnv(workers, 512, REDIS_FOR[store]);
      const results = new Map<string, { path: string; store: StoreKind; runs: number[]; cpu: number[] }>();
      const record = (path: string, store: StoreKind, tps: number) => {
        const key = `${path}|${store}`;
        const r = results.get(key) ?? { path, store, runs: [], cpu: [] as number[] };
        r.runs.push(tps);
        results.set(key, r);
      };
      // Warm-up at the measured load: JIT of master and worker processes, SQLite's cache and WAL
      // (with 2,000 tasks the first measured run of either store was still ~25% slow).
      for (const store of ['memory', 'sqlite'] as const) {
        await throughput(envs[store].master, inProcessSubmit(envs[store].master), opts.quick ? 5000 : 15_000, 4096);
        if (bull[store]) await bullThroughput(bull[store], opts.quick ? 5000 : 15_000, 4096);
      }
      // Alternate the configurations within each run: the machine's noise hits them alike.
      for (let r = 0; r < runs; r++) {
        for (const store of ['memory', 'sqlite'] as const) {
          const m = envs[store].master;
          // CPU of this process (master + submitter) per task: far less noisy than tasks/s on a busy machine.
          const cpu0 = process.cpuUsage();
          const workerCpu0 = workersCpu(envs[store]);
          const tps = await throughput(m, inProcessSubmit(m), total, 4096);
          const cpu = process.cpuUsage(cpu0);
          record('in-process submit', store, tps);
          results.get(`in-process submit|${store}`)!.cpu.push((cpu.user + cpu.system) / total);
          peer.taskwire(workers, store, tps, (cpu.user + cpu.system) / total + ((workersCpu(envs[store]) - workerCpu0) * 1e6) / total);
          // The same job on BullMQ right after (A B A B ...): this process adds and observes, Redis and the workers run it.
          const b = bull[store];
          if (b) {
            const bCpu0 = process.cpuUsage();
            const side0 = b.cpu();
            const jps = await bullThroughput(b, total, 4096);
            const bCpu = process.cpuUsage(bCpu0);
            const side = b.cpu();
            peer.bullmq(workers, store, jps, (bCpu.user + bCpu.system) / total + ((side.redis - side0.redis + side.workers - side0.workers) * 1e6) / total);
          }
          record('REST (client process)', store, await restThroughput(m, Math.round(total / 3), 32));
          record('REST batch of 100', store, await restThroughput(m, total, 4, 'batch'));
        }
      }
      for (const r of results.values()) {
        out.throughput.push({
          path: r.path,
          store: r.store,
          workers,
          runs: r.runs.map(Math.round),
          median_tasks_per_s: Math.round(median(r.runs)),
          ...(r.cpu.length > 0 ? { master_cpu_us_per_task: Math.round(median(r.cpu) * 10) / 10 } : {}),
        });
      }
      if (workers === 1) {
        const seconds = opts.quick ? 3 : 10;
        // Alternating pairs with the peer (one when it is skipped): p99.9 needs the samples of several.
        const pairs = skipped ? 1 : opts.quick ? 1 : 3;
        const samples = { memory: [] as number[], sqlite: [] as number[] };
        const bullSamples = { memory: [] as number[], sqlite: [] as number[] };
        for (let p = 0; p < pairs; p++) {
          for (const store of ['memory', 'sqlite'] as const) {
            const m = envs[store].master;
            samples[store].push(...(await latencyAtRate(m, inProcessSubmit(m), 200, seconds)));
            const b = bull[store];
            if (b) bullSamples[store].push(...(await bullLatencyAtRate(b, 200, seconds)));
          }
        }
        for (const store of ['memory', 'sqlite'] as const) {
          if (bull[store]) {
            out.peer.latency.push({ taskwire_store: store, bullmq_redis: REDIS_FOR[store], rate_per_s: 200, pairs, taskwire: latencySummary(samples[store]), bullmq: latencySummary(bullSamples[store]) });
          }
        }
        for (const store of ['memory', 'sqlite'] as const) {
          const m = envs[store].master;
          const lat = summarize(samples[store]);
          out.latency.push({ path: 'in-process submit', store, rate_per_s: 200, n: lat.n, p50_ms: lat.p50, p90_ms: lat.p90, p99_ms: lat.p99, max_ms: lat.max });
          const rest = await restLoad(m, 'rate', 200 * seconds, 200);
          const ack = summarize(rest.ack_ms);
          out.latency.push({ path: 'REST submit -> 202 ack', store, rate_per_s: 200, n: ack.n, p50_ms: ack.p50, p90_ms: ack.p90, p99_ms: ack.p99, max_ms: ack.max });
        }
      }
    } finally {
      await envs.memory.close();
      await envs.sqlite.close();
      for (const b of Object.values(bull)) await b.close();
    }
  }
  out.peer.throughput = peer.result();
  return out;
}

export function printCoreBench(r: CoreBenchResult): void {
  console.log('\nCore: no-op echo, submit -> MQTT -> worker process -> gRPC -> result');
  console.log('  throughput                  store    workers   tasks/s (median)   runs');
  for (const t of r.throughput) {
    const cpu = t.master_cpu_us_per_task !== undefined ? `   (master CPU ${fmt(t.master_cpu_us_per_task, 1)} us/task)` : '';
    console.log(`  ${t.path.padEnd(27)} ${t.store.padEnd(7)} ${String(t.workers).padStart(7)}   ${String(t.median_tasks_per_s).padStart(16)}   ${t.runs.join(', ')}${cpu}`);
  }
  for (const w of [1, 4]) {
    const mem = r.throughput.find((t) => t.workers === w && t.store === 'memory' && t.path === 'in-process submit');
    const sql = r.throughput.find((t) => t.workers === w && t.store === 'sqlite' && t.path === 'in-process submit');
    if (mem && sql) console.log(`  durability cost (SQLite vs memory, ${w} worker${w > 1 ? 's' : ''}): ${fmt((1 - sql.median_tasks_per_s / mem.median_tasks_per_s) * 100, 1)}% of throughput`);
  }
  const reg = summarize(r.registration_ms);
  console.log(`  worker registration (MQTT connect -> schedulable): p50 ${fmt(reg.p50)} ms, max ${fmt(reg.max)} ms over ${reg.n}`);
  console.log('  latency at a steady rate    store    rate/s      n    p50 ms   p90 ms   p99 ms   max ms');
  for (const l of r.latency) {
    console.log(`  ${l.path.padEnd(27)} ${l.store.padEnd(7)} ${String(l.rate_per_s).padStart(6)} ${String(l.n).padStart(6)} ${fmt(l.p50_ms).padStart(9)} ${fmt(l.p90_ms).padStart(8)} ${fmt(l.p99_ms).padStart(8)} ${fmt(l.max_ms).padStart(8)}`);
  }
  printPeerCore(r.peer);
}

/** CPU seconds the worker processes of an env have used so far. */
function workersCpu(env: Env): number {
  return env.workers.reduce((s, w) => s + processCpuSeconds(w.pid), 0);
}
