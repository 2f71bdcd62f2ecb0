/**
 * Streaming through one master (`npm run bench -- scale`): the master in
 * this process; the zero-delay provider (provider-process.ts), one llm worker
 * (`taskwire worker`, capacity = the concurrency) and the clients
 * (stream-load.ts) each a child process, so this process's CPU is the
 * master's. Two figures, each for the OpenAI gateway and the Socket.IO chat:
 *
 *   TTFT added:  one stream at a time, alternating with the provider directly;
 *                p50 / p99 of (through taskwire) minus (direct);
 *   throughput:  200-token streams, 500 at once: tokens/s received by the
 *                clients, TTFT p99 under that load, master CPU per token
 *                (whole process and its main thread, from /proc).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../common/logger.js';
import { FINAL_EVENT_TYPES } from '../master/core/task-events.js';
import { Master } from '../master/master.js';
import { profiled } from './cpu-profile.js';
import { fmt, summarize } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'cli', 'taskwire.js');
const LOAD = join(HERE, 'stream-load.js');
const PROVIDER = join(HERE, 'provider-process.js');
const MODEL = 'bench-model';

interface LoadResult {
  tokens: number;
  seconds: number;
  ttft_ms: number[];
}

function load(mode: 'direct' | 'gateway' | 'socket', url: string, streams: number, concurrency: number, tokens: number): Promise<LoadResult> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [LOAD, mode, url, String(streams), String(concurrency), String(tokens)], { maxBuffer: 64 << 20 }, (err, out) =>
      err ? reject(err) : resolve(JSON.parse(out) as LoadResult),
    ),
  );
}

/** CPU ms of this process's threads from /proc (utime + stime), by thread name. */
function threadCpuMs(): Map<string, number> {
  const tick = 10; // USER_HZ = 100 on Linux
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(f[11]) + Number(f[12])) * tick;
      const key = tid === String(process.pid) ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + ms);
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

function diff(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) out[k] = v - (a.get(k) ?? 0);
  return out;
}

interface Env {
  master: Master;
  providerUrl: string;
  close(): Promise<void>;
}

async function startEnv(capacity: number): Promise<Env> {
  if (!existsSync(CLI) || !existsSync(LOAD)) throw new Error('dist/ not built: run `npm run build` first');
  const provider = spawn(process.execPath, [PROVIDER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const providerUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    provider.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /url (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    provider.once('exit', (code) => reject(new Error(`provider exited (${code})`)));
  });
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000 },
    { logger: { logger: silentLogger() } },
  );
  const workerId = `stream-bench-${process.pid}`;
  const worker: ChildProcess = spawn(process.execPath, [CLI, 'worker'], {
    env: {
      ...process.env,
      TASKWIRE_MQTT_URL: master.mqttUrl,
      TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
      TASKWIRE_CLUSTER_TOKEN: master.clusterToken,
      TASKWIRE_WORKER_ID: workerId,
      TASKWIRE_WORKER_KINDS: 'llm',
      TASKWIRE_WORKER_CAPACITY: String(capacity),
      TASKWIRE_LOG_LEVEL: 'warn',
      OPENAI_BASE_URL: providerUrl,
      OPENAI_MODELS: MODEL,
      TASKWIRE_OLLAMA_URL: 'off',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const close = async () => {
    for (const p of [worker, provider]) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await once(p, 'exit');
      }
    }
    await master.close();
  };
  const until = Date.now() + 30_000;
  while (!master.registry.schedulable().some((w) => w.id === workerId && w.models.size > 0)) {
    if (Date.now() > until || worker.exitCode !== null) {
      await close();
      throw new Error('the llm worker did not register');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { master, providerUrl, close };
}

export interface TtftAdded {
  path: 'gateway' | 'socket';
  pairs: number;
  direct_p50_ms: number;
  direct_p99_ms: number;
  p50_ms: number;
  p99_ms: number;
  added_p50_ms: number;
  added_p99_ms: number;
  /**
   * Medians of the hops to the first token (ms, Date.now() resolution, one
   * clock: all processes on this machine): submit -> assigned (master),
   * assigned -> the worker's STARTED (MQTT + worker), STARTED -> the
   * provider's first token in the worker (HTTP to the provider + SSE parse),
   * that token -> the master holds it (gRPC stream).
   */
  hops_ms: { dispatch: number; to_worker: number; provider: number; to_master: number };
}

export interface StreamThroughput {
  path: 'gateway' | 'socket';
  streams: number;
  concurrency: number;
  tokens_per_stream: number;
  tokens_per_s: number;
  ttft_p50_ms: number;
  ttft_p99_ms: number;
  master_cpu_us_per_token: number;
  master_main_thread_cpu_us_per_token: number;
  /** CPU ms of the master's threads during the run, by thread name (/proc/self/task). */
  threads_cpu_ms: Record<string, number>;
}

export interface StreamBenchResult {
  ttft: TtftAdded[];
  throughput: StreamThroughput[];
}

export async function runStreamBench(o: { quick?: boolean } = {}): Promise<StreamBenchResult> {
  const concurrency = 500;
  const tokens = 200;
  const env = await startEnv(concurrency);
  try {
    const urls = {
      direct: `${env.providerUrl}/chat/completions`,
      gateway: `http://127.0.0.1:${env.master.httpPort}/v1/chat/completions`,
      socket: `http://127.0.0.1:${env.master.httpPort}`,
    };
    // TTFT at concurrency 1: batches of 20 streams per path, alternating.
    const rounds = o.quick ? 3 : 10;
    const ttftSamples = { direct: [] as number[], gateway: [] as number[], socket: [] as number[] };
    await load('gateway', urls.gateway, 20, 1, 16); // warm-up
    await load('socket', urls.socket, 20, 1, 16);
    const hops = { gateway: [] as number[][], socket: [] as number[][] };
    const off = env.master.tasks.events.on(FINAL_EVENT_TYPES, (_e, t) => {
      const ttft = (t.result as { ttft_ms?: unknown } | null)?.ttft_ms;
      if (t.kind !== 'llm' || t.assignedAtMs === null || t.startedAtMs === null || t.firstChunkAtMs === null || typeof ttft !== 'number') return;
      (t.sessionId ? hops.socket : hops.gateway).push([t.assignedAtMs - t.createdAtMs, t.startedAtMs - t.assignedAtMs, ttft, t.firstChunkAtMs - (t.startedAtMs + ttft)]);
    });
    for (let r = 0; r < rounds; r++) {
      const order = (r % 2 === 0 ? ['direct', 'gateway', 'socket'] : ['socket', 'gateway', 'direct']) as (keyof typeof urls)[];
      for (const p of order) ttftSamples[p].push(...(await load(p, urls[p], 20, 1, 16)).ttft_ms);
    }
    off();
    const hopMedians = (rows: number[][]) => {
      const m = (i: number) => summarize(rows.map((r) => r[i]!)).p50;
      return { dispatch: m(0), to_worker: m(1), provider: m(2), to_master: m(3) };
    };
    const d = summarize(ttftSamples.direct);
    const ttft: TtftAdded[] = (['gateway', 'socket'] as const).map((path) => {
      const s = summarize(ttftSamples[path]);
      return { path, pairs: ttftSamples[path].length, direct_p50_ms: d.p50, direct_p99_ms: d.p99, p50_ms: s.p50, p99_ms: s.p99, added_p50_ms: s.p50 - d.p50, added_p99_ms: s.p99 - d.p99, hops_ms: hopMedians(hops[path]) };
    });
    // Throughput: 200-token streams, 500 at once.
    const streams = o.quick ? 1000 : 3000;
    const throughput: StreamThroughput[] = [];
    for (const path of ['gateway', 'socket'] as const) {
      await load(path, urls[path], concurrency, concurrency, tokens); // warm-up (connections, JIT)
      const threads0 = threadCpuMs();
      const cpu0 = process.cpuUsage();
      const res = await profiled(`stream-${path}`, () => load(path, urls[path], streams, concurrency, tokens));
      const cpu = process.cpuUsage(cpu0);
      const threads = diff(threads0, threadCpuMs());
      const s = summarize(res.ttft_ms);
      throughput.push({
        path,
        streams,
        concurrency,
        tokens_per_stream: tokens,
        tokens_per_s: res.tokens / res.seconds,
        ttft_p50_ms: s.p50,
        ttft_p99_ms: s.p99,
        master_cpu_us_per_token: (cpu.user + cpu.system) / res.tokens,
        master_main_thread_cpu_us_per_token: ((threads['main'] ?? 0) * 1000) / res.tokens,
        threads_cpu_ms: threads,
      });
    }
    const failed = env.master.tasks.counters.failed;
    if (failed > 0) throw new Error(`${failed} llm tasks failed`);
    return { ttft, throughput };
  } finally {
    await env.close();
  }
}

export function printStreamBench(r: StreamBenchResult): void {
  console.log('\nStreaming through one master (zero-delay local provider, one llm worker process, clients in another process)');
  console.log('  time to first token added, one stream at a time   p50 ms   p99 ms   (direct p50 / p99)   target');
  for (const t of r.ttft) {
    const target = t.path === 'gateway' ? '<= 1 / <= 3' : '<= 1 p50';
    console.log(
      `  ${(t.path === 'gateway' ? 'OpenAI gateway' : 'Socket.IO chat').padEnd(49)} ${fmt(t.added_p50_ms).padStart(6)}   ${fmt(t.added_p99_ms).padStart(6)}   (${fmt(t.direct_p50_ms)} / ${fmt(t.direct_p99_ms)})   ${target}`,
    );
  }
  for (const t of r.ttft) {
    const h = t.hops_ms;
    console.log(
      `  ${t.path} hops to the first token, medians (ms): dispatch ${fmt(h.dispatch)}, MQTT + worker start ${fmt(h.to_worker)}, ` +
        `worker -> provider first token ${fmt(h.provider)}, gRPC to the master ${fmt(h.to_master)}`,
    );
  }
  console.log('  200-token streams, 500 at once        tokens/s   TTFT p50   TTFT p99   master CPU us/token (main thread)   target');
  for (const t of r.throughput) {
    console.log(
      `  ${(t.path === 'gateway' ? 'OpenAI gateway' : 'Socket.IO chat').padEnd(37)} ${fmt(t.tokens_per_s).padStart(8)}   ${fmt(t.ttft_p50_ms).padStart(8)}   ${fmt(t.ttft_p99_ms).padStart(8)}   ${fmt(t.master_cpu_us_per_token).padStart(6)} (${fmt(t.master_main_thread_cpu_us_per_token)})`.padEnd(100) +
        '   >= 200k tokens/s, TTFT p99 <= 50 ms',
    );
  }
}
