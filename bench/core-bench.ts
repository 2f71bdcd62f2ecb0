/**
 * Core benchmark: no-op `echo` tasks over the full path
 *   submit -> MQTT (embedded aedes) -> worker process -> gRPC stream -> master
 * with the master in this process and workers as real child processes.
 * Two submission paths: the master's in-process submit API and REST (HTTP
 * keep-alive). Throughput with 1 and 4 workers; latency at a steady rate.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { Master } from '../master/master.js';
import { Worker } from '../worker/worker.js';
import { silentLogger } from '../common/logger.js';
import { fmt, median, summarize } from './stats.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'taskwire.js');

interface Env {
  master: Master;
  workers: ChildProcess[];
  close(): Promise<void>;
}

async function startEnv(workerCount: number, capacity: number): Promise<Env> {
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000 },
    { logger: { logger: silentLogger() } },
  );
  const workers: ChildProcess[] = [];
  for (let i = 0; i < workerCount; i++) {
    workers.push(
      spawn(process.execPath, [CLI, 'worker'], {
        env: {
          ...process.env,
          TASKWIRE_MQTT_URL: master.mqttUrl,
          TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
          TASKWIRE_CLUSTER_TOKEN: master.clusterToken,
          TASKWIRE_WORKER_CAPACITY: String(capacity),
          TASKWIRE_WORKER_ID: `bench-${process.pid}-${workerCount}-${i}`,
          TASKWIRE_WORKER_KINDS: 'echo,sleep',
          TASKWIRE_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
  }
  const until = Date.now() + 20_000;
  while (master.registry.schedulable().length < workerCount) {
    if (Date.now() > until) throw new Error('workers did not register');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    master,
    workers,
    async close() {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => (w.exitCode === null ? once(w, 'exit') : undefined)));
      await master.close();
    },
  };
}

type Submit = (i: number) => Promise<string> | string;

function inProcessSubmit(master: Master): Submit {
  return (i) => master.tasks.submit({ kind: 'echo', input: { text: `t${i}` } }).task.id;
}

function restSubmit(master: Master): Submit {
  const url = `http://127.0.0.1:${master.httpPort}/api/v1/tasks`;
  return async (i) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: `t${i}` } }) });
    if (res.status !== 202) throw new Error(`submit: ${res.status}`);
    return ((await res.json()) as { id: string }).id;
  };
}

/** Keeps `window` tasks outstanding until `total` complete; returns tasks/s. */
async function throughput(master: Master, submit: Submit, total: number, window: number): Promise<number> {
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
  master.tasks.on('done', onDone);
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
  master.tasks.off('done', onDone);
  if (failed > 0) throw new Error(`${failed} tasks failed`);
  return total / secs;
}

/** Submits at a steady rate; returns submit -> result latencies (ms). */
async function latencyAtRate(master: Master, submit: Submit, rate: number, seconds: number): Promise<number[]> {
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
  master.tasks.on('done', onDone);
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
  master.tasks.off('done', onDone);
  return lat;
}

export interface CoreBenchResult {
  throughput: { path: string; workers: number; runs: number[]; median_tasks_per_s: number }[];
  latency: { path: string; rate_per_s: number; n: number; p50_ms: number; p90_ms: number; p99_ms: number; max_ms: number }[];
  registration_ms: number[];
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
  const out: CoreBenchResult = { throughput: [], latency: [], registration_ms: [] };
  out.registration_ms = (await registrationTimes(opts.quick ? 5 : 20)).map((x) => Math.round(x * 100) / 100);
  for (const workers of [1, 4]) {
    const env = await startEnv(workers, 512);
    try {
      const paths: [string, Submit, number][] = [
        ['in-process submit', inProcessSubmit(env.master), total],
        ['REST', restSubmit(env.master), Math.round(total / 3)],
      ];
      await throughput(env.master, inProcessSubmit(env.master), 2000, 1000); // warm-up
      const results = new Map<string, number[]>();
      for (let r = 0; r < runs; r++) {
        for (const [path, submit, n] of paths) {
          const tps = await throughput(env.master, submit, n, 2048);
          results.set(path, [...(results.get(path) ?? []), tps]);
        }
      }
      for (const [path, rs] of results) out.throughput.push({ path, workers, runs: rs.map((x) => Math.round(x)), median_tasks_per_s: Math.round(median(rs)) });
      if (workers === 1) {
        for (const [path, submit] of paths) {
          const lat = summarize(await latencyAtRate(env.master, submit, 200, opts.quick ? 3 : 10));
          out.latency.push({ path, rate_per_s: 200, n: lat.n, p50_ms: lat.p50, p90_ms: lat.p90, p99_ms: lat.p99, max_ms: lat.max });
        }
      }
    } finally {
      await env.close();
    }
  }
  return out;
}

export function printCoreBench(r: CoreBenchResult): void {
  console.log('\nCore: no-op echo, submit -> MQTT -> worker process -> gRPC -> result');
  console.log('  throughput                 workers   tasks/s (median)   runs');
  for (const t of r.throughput) console.log(`  ${t.path.padEnd(26)} ${String(t.workers).padStart(7)}   ${String(t.median_tasks_per_s).padStart(16)}   ${t.runs.join(', ')}`);
  const reg = summarize(r.registration_ms);
  console.log(`  worker registration (MQTT connect -> schedulable): p50 ${fmt(reg.p50)} ms, max ${fmt(reg.max)} ms over ${reg.n}`);
  console.log('  latency at a steady rate   rate/s      n    p50 ms   p90 ms   p99 ms   max ms');
  for (const l of r.latency) {
    console.log(`  ${l.path.padEnd(26)} ${String(l.rate_per_s).padStart(6)} ${String(l.n).padStart(6)} ${fmt(l.p50_ms).padStart(9)} ${fmt(l.p90_ms).padStart(8)} ${fmt(l.p99_ms).padStart(8)} ${fmt(l.max_ms).padStart(8)}`);
  }
}
