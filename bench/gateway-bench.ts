/**
 * Gateway benchmark: what taskwire adds to a streaming chat completion.
 * Side by side in one run, alternating (the order flips every pair), at
 * concurrency 1, against one local zero-delay OpenAI-compatible provider
 * (test/llm/fake-openai-provider.ts):
 *
 *   direct:   client -> provider
 *   taskwire: client -> master gateway (/v1) -> MQTT (embedded aedes) ->
 *             worker process -> provider -> gRPC stream -> master -> client
 *
 * Both paths are measured by the same minimal SSE client on Node's fetch
 * (keep-alive): time to the first content token (TTFT) and to the end of the
 * stream. "Added" is taskwire minus direct, per percentile and as the median
 * of the per-pair differences.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../common/logger.js';
import { Master } from '../master/master.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../test/llm/fake-openai-provider.js';
import { fmt, median, summarize } from './stats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/cli/taskwire.js, whether this runs compiled (dist/bench) or from source (bench/). */
const CLI = [join(HERE, '..', 'cli', 'taskwire.js'), join(HERE, '..', 'dist', 'cli', 'taskwire.js')].find((p) => existsSync(p)) ?? '';
const MODEL = 'bench-model';

export interface GatewayBenchOptions {
  /** Measured pairs (one direct + one through taskwire each); default 300 (quick: 60). */
  requests?: number;
  /** Unmeasured pairs first; default 30 (quick: 10). */
  warmup?: number;
  /** Tokens per answer (one word each); default 16. */
  tokens?: number;
  quick?: boolean;
}

export interface PathStats {
  ttft_ms: { p50: number; p90: number; p99: number; mean: number };
  total_ms: { p50: number; p90: number; p99: number; mean: number };
}

export interface GatewayBenchResult {
  requests: number;
  tokens: number;
  concurrency: 1;
  direct: PathStats;
  taskwire: PathStats;
  /** taskwire minus direct, per percentile. */
  added: { ttft_p50_ms: number; ttft_p99_ms: number; total_p50_ms: number; total_p99_ms: number };
  /** Median over pairs of (taskwire - direct): less sensitive to drift during the run. */
  added_paired_median: { ttft_ms: number; total_ms: number };
}

interface Sample {
  ttftMs: number;
  totalMs: number;
}

/** One streaming completion; returns when [DONE] arrived. Throws if the answer is not `expected`. */
async function streamOnce(url: string, prompt: string, expected: string): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: prompt }] }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let ttft = -1;
  let text = '';
  let buffer = '';
  let done = false;
  while (!done) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith('data: ')) continue;
      const data = event.slice(6);
      if (data === '[DONE]') {
        done = true;
        break;
      }
      const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[]; error?: unknown };
      if (parsed.error) throw new Error(`${url}: error in stream: ${data}`);
      const content = parsed.choices?.[0]?.delta?.content;
      if (content) {
        if (ttft < 0) ttft = performance.now() - t0;
        text += content;
      }
    }
  }
  const totalMs = performance.now() - t0;
  // Read to the end of the body so the keep-alive connection is reused.
  while (done && !(await reader.read()).done);
  if (!done) throw new Error(`${url}: stream ended without [DONE]`);
  if (text !== expected) throw new Error(`${url}: unexpected answer ${JSON.stringify(text.slice(0, 80))}`);
  return { ttftMs: ttft, totalMs };
}

interface BenchEnv {
  provider: FakeOpenAiProvider;
  master: Master;
  worker: ChildProcess;
  close(): Promise<void>;
}

async function startEnv(): Promise<BenchEnv> {
  if (!CLI) throw new Error('dist/cli/taskwire.js not found: run `npm run build` first');
  const provider = await startFakeOpenAiProvider({ models: [MODEL] });
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', maxFinishedTasks: 10_000 },
    { logger: { logger: silentLogger() } },
  );
  const workerId = `gw-bench-${process.pid}`;
  const clusterToken = (master as unknown as { clusterToken?: string }).clusterToken;
  const worker = spawn(process.execPath, [CLI, 'worker'], {
    env: {
      ...process.env,
      TASKWIRE_MQTT_URL: master.mqttUrl,
      TASKWIRE_GRPC_URL: `127.0.0.1:${master.grpcPort}`,
      // The embedded broker's worker password, when the master issues one.
      ...(clusterToken !== undefined && { TASKWIRE_CLUSTER_TOKEN: clusterToken }),
      TASKWIRE_WORKER_ID: workerId,
      TASKWIRE_WORKER_KINDS: 'llm',
      TASKWIRE_LOG_LEVEL: 'warn',
      OPENAI_BASE_URL: provider.url,
      OPENAI_MODELS: MODEL,
      TASKWIRE_OLLAMA_URL: 'off',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const close = async () => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
    await master.close();
    await provider.close();
  };
  const until = Date.now() + 20_000;
  while (!master.registry.schedulable().some((w) => w.id === workerId && w.kinds.has('llm'))) {
    if (Date.now() > until || worker.exitCode !== null) {
      await close();
      throw new Error('the llm worker process did not register');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { provider, master, worker, close };
}

const stats = (xs: number[]) => {
  const s = summarize(xs);
  return { p50: s.p50, p90: s.p90, p99: s.p99, mean: s.mean };
};

export async function runGatewayBench(options: GatewayBenchOptions = {}): Promise<GatewayBenchResult> {
  const requests = options.requests ?? (options.quick ? 60 : 300);
  const warmup = options.warmup ?? (options.quick ? 10 : 30);
  const tokens = options.tokens ?? 16;
  const prompt = Array.from({ length: tokens }, (_, i) => `w${i}`).join(' ');
  const env = await startEnv();
  const direct: Sample[] = [];
  const taskwire: Sample[] = [];
  try {
    const paths = {
      direct: `${env.provider.url}/chat/completions`,
      taskwire: `http://127.0.0.1:${env.master.httpPort}/v1/chat/completions`,
    };
    for (let i = 0; i < warmup + requests; i++) {
      const order = i % 2 === 0 ? (['direct', 'taskwire'] as const) : (['taskwire', 'direct'] as const);
      for (const path of order) {
        const sample = await streamOnce(paths[path], prompt, prompt);
        if (i >= warmup) (path === 'direct' ? direct : taskwire).push(sample);
      }
    }
    const failed = env.master.tasks.counters.failed;
    if (failed > 0) throw new Error(`${failed} llm tasks failed`);
  } finally {
    await env.close();
  }
  const d = { ttft_ms: stats(direct.map((s) => s.ttftMs)), total_ms: stats(direct.map((s) => s.totalMs)) };
  const t = { ttft_ms: stats(taskwire.map((s) => s.ttftMs)), total_ms: stats(taskwire.map((s) => s.totalMs)) };
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    requests,
    tokens,
    concurrency: 1,
    direct: d,
    taskwire: t,
    added: {
      ttft_p50_ms: round(t.ttft_ms.p50 - d.ttft_ms.p50),
      ttft_p99_ms: round(t.ttft_ms.p99 - d.ttft_ms.p99),
      total_p50_ms: round(t.total_ms.p50 - d.total_ms.p50),
      total_p99_ms: round(t.total_ms.p99 - d.total_ms.p99),
    },
    added_paired_median: {
      ttft_ms: round(median(taskwire.map((s, i) => s.ttftMs - direct[i]!.ttftMs))),
      total_ms: round(median(taskwire.map((s, i) => s.totalMs - direct[i]!.totalMs))),
    },
  };
}

export function printGatewayBench(r: GatewayBenchResult): void {
  console.log(
    `\nLLM gateway: streaming chat completion, ${r.tokens} tokens, zero-delay local provider, ` +
      `${r.requests} pairs at concurrency 1, alternating`,
  );
  console.log('  path (ms)                        TTFT p50   TTFT p99   total p50   total p99');
  const row = (name: string, a: number, b: number, c: number, e: number | string) =>
    console.log(
      `  ${name.padEnd(32)} ${fmt(a).padStart(8)}   ${fmt(b).padStart(8)}   ${fmt(c).padStart(9)}   ${(typeof e === 'number' ? fmt(e) : e).padStart(9)}`,
    );
  row('direct to provider', r.direct.ttft_ms.p50, r.direct.ttft_ms.p99, r.direct.total_ms.p50, r.direct.total_ms.p99);
  row('through taskwire', r.taskwire.ttft_ms.p50, r.taskwire.ttft_ms.p99, r.taskwire.total_ms.p50, r.taskwire.total_ms.p99);
  row('added by taskwire', r.added.ttft_p50_ms, r.added.ttft_p99_ms, r.added.total_p50_ms, r.added.total_p99_ms);
  console.log(
    `  added, median of per-pair differences: TTFT ${fmt(r.added_paired_median.ttft_ms)} ms, total ${fmt(r.added_paired_median.total_ms)} ms`,
  );
  console.log('  (taskwire: gateway -> MQTT -> worker process -> provider -> gRPC -> client)');
}
