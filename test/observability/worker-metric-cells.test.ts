/**
 * The TypeScript worker's per-task metrics are plain cells read by prom-client
 * only when the registry is collected (worker/metrics-registry.ts on
 * common/cell-metrics.ts). Checked two ways: WorkerMetrics against
 * prom-client's own Counter and Histogram (same names, help, labels and
 * buckets) fed what prom-client was fed per call before the cells — the same
 * text with the worker_id default label, series in the same order, and the
 * same status summary; and a real worker after real attempts through a real
 * master (succeeded, failed with a code and by a crash, cancelled; provider
 * calls, one failing with a string that is not a code, and inference runs
 * reported through ctx.telemetry), whose scrape counts what the task records say happened and whose summary on
 * the master's /metrics equals its own scrape.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { promSamples } from '../helpers/prom-text.js';
import { CellCounter, CellHistogram } from '../../common/cell-metrics.js';
import { WorkerMetrics, type AttemptOutcome } from '../../worker/metrics-registry.js';
import { buildMetricsSummary } from '../../worker/metrics-summary.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import type { InferenceRun } from '../../worker/handlers/handler-telemetry.js';
import type { Worker } from '../../worker/worker.js';

const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;
const codeLabel = (code: string | undefined) => (code && CODE.test(code) ? code : 'OTHER');

/** prom-client twins of every cell metric of `m` (same name, help, labels, buckets) in a registry with the same default labels. */
function twins(m: WorkerMetrics, workerId: string): { registry: Registry; c: Record<string, Counter>; h: Record<string, Histogram> } {
  const registry = new Registry();
  registry.setDefaultLabels({ worker_id: workerId });
  const c: Record<string, Counter> = {};
  const h: Record<string, Histogram> = {};
  for (const v of Object.values(m)) {
    if (v instanceof CellCounter) c[v.name] = new Counter({ name: v.name, help: v.help, labelNames: [...v.labelNames], registers: [registry] });
    else if (v instanceof CellHistogram) h[v.name] = new Histogram({ name: v.name, help: v.help, labelNames: [...v.labelNames], buckets: [...v.upperBounds], registers: [registry] });
  }
  return { registry, c, h };
}

/** A small deterministic generator (the same calls every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('worker metric cells against prom-client', () => {
  it('write the same text, in the same series order, and the same summary as prom-client fed per call', async () => {
    const m = new WorkerMetrics({ worker_id: 'w-cells' });
    const { registry: ref, c, h } = twins(m, 'w-cells');
    expect(Object.keys(c).sort()).toEqual([
      'taskwire_worker_blob_fetches_total',
      'taskwire_worker_inference_requests_total',
      'taskwire_worker_llm_completion_tokens_total',
      'taskwire_worker_llm_prompt_tokens_total',
      'taskwire_worker_provider_errors_total',
      'taskwire_worker_provider_requests_total',
      'taskwire_worker_task_failures_total',
      'taskwire_worker_tasks_total',
    ]);
    expect(Object.keys(h).sort()).toEqual([
      'taskwire_worker_handler_seconds',
      'taskwire_worker_inference_batch_rows',
      'taskwire_worker_inference_queue_seconds',
      'taskwire_worker_inference_request_seconds',
      'taskwire_worker_provider_request_seconds',
      'taskwire_worker_provider_time_to_first_token_seconds',
    ]);
    // What the worker recorded with prom-client per call before the cells.
    const refAttempt = (kind: string, outcome: AttemptOutcome, seconds: number, code?: string) => {
      c.taskwire_worker_tasks_total!.inc({ kind, outcome });
      h.taskwire_worker_handler_seconds!.observe({ kind, outcome }, Math.max(0, seconds));
      if (outcome === 'failed') c.taskwire_worker_task_failures_total!.inc({ kind, code: codeLabel(code) });
    };
    type Usage = { prompt_tokens: number; completion_tokens: number };
    const refProvider = (provider: string, model: string, seconds: number, ttft: number | undefined, code: string | undefined, usage: Usage | undefined) => {
      c.taskwire_worker_provider_requests_total!.inc({ provider, model, outcome: code ? 'error' : 'ok' });
      h.taskwire_worker_provider_request_seconds!.observe({ provider, model }, Math.max(0, seconds));
      if (ttft !== undefined) h.taskwire_worker_provider_time_to_first_token_seconds!.observe({ provider, model }, Math.max(0, ttft));
      if (code) c.taskwire_worker_provider_errors_total!.inc({ provider, code: codeLabel(code) });
      if (usage?.prompt_tokens) c.taskwire_worker_llm_prompt_tokens_total!.inc({ provider, model }, usage.prompt_tokens);
      if (usage?.completion_tokens) c.taskwire_worker_llm_completion_tokens_total!.inc({ provider, model }, usage.completion_tokens);
    };
    const refInference = (run: InferenceRun) => {
      const model = run.model;
      c.taskwire_worker_inference_requests_total!.inc({ model, outcome: run.ok ? 'ok' : 'error' });
      if (!run.ok) return;
      if (run.queueMs !== undefined || run.computeMs !== undefined) h.taskwire_worker_inference_request_seconds!.observe({ model }, ((run.queueMs ?? 0) + (run.computeMs ?? 0)) / 1000);
      if (run.queueMs !== undefined) h.taskwire_worker_inference_queue_seconds!.observe({ model }, run.queueMs / 1000);
      if (run.batchRows !== undefined && run.batchRows > 0) h.taskwire_worker_inference_batch_rows!.observe({ model }, run.batchRows);
    };

    const rnd = lcg(15);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    // Values on every bound of every histogram, just above and below, 0, negative, past the last bound.
    const bounds = [...new Set(Object.values(m).flatMap((x) => (x instanceof CellHistogram ? [...x.upperBounds] : [])))];
    const seconds = [0, -1, 1000, ...bounds, ...bounds.map((b) => b * 1.0001), ...bounds.map((b) => b * 0.9999)];
    const codes = [undefined, 'PROVIDER_AUTH', 'DEADLINE_EXCEEDED', 'not a code', 'x'.repeat(60), 'PROVIDER_RATE_LIMIT'];
    for (let i = 0; i < 3000; i++) {
      const what = rnd();
      if (what < 0.5) {
        const args = [pick(['echo', 'sleep', 'llm', 'image']), pick(['succeeded', 'failed', 'cancelled'] as const), pick(seconds), pick(codes)] as const;
        m.attempt(...args);
        refAttempt(...args);
      } else if (what < 0.8) {
        const code = rnd() < 0.3 ? pick(codes) : undefined;
        const usage = rnd() < 0.7 ? { prompt_tokens: pick([0, 1, 17, 400]), completion_tokens: pick([0, 3, 250]) } : undefined;
        const args = [pick(['openai', 'ollama']), pick(['gpt-x', 'llama-y', 'OTHER']), pick(seconds), rnd() < 0.6 ? pick(seconds) : undefined, code, usage] as const;
        m.providerCall(...args);
        refProvider(...args);
      } else {
        const run: InferenceRun = {
          model: pick(['linear', 'ocr', 'OTHER']),
          ok: rnd() < 0.85,
          ...(rnd() < 0.8 ? { queueMs: pick(seconds) * 1000 } : {}),
          ...(rnd() < 0.8 ? { computeMs: pick([0.2, 1, 7, 300]) } : {}),
          ...(rnd() < 0.8 ? { batchRows: pick([0, 1, 2, 3, 8, 64, 256, 1000]) } : {}),
        };
        m.inference(run);
        refInference(run);
      }
    }
    // Input blobs, as worker.ts counts them (a cell per source, bumped per fetch).
    const blobCells = { local: m.blobFetches.cell({ source: 'local' }), master: m.blobFetches.cell({ source: 'master' }) };
    for (let i = 0; i < 50; i++) {
      const source = pick(['local', 'master'] as const);
      blobCells[source].value++;
      c.taskwire_worker_blob_fetches_total!.inc({ source });
    }
    for (const name of [...Object.keys(c), ...Object.keys(h)]) {
      const got = await m.registry.getSingleMetricAsString(name);
      expect(got, name).toBe(await ref.getSingleMetricAsString(name));
      expect(got.split('\n').length, `${name} has series`).toBeGreaterThan(3);
    }
    // The summary the worker sends the master: the same families and samples as prom-client's would give.
    const names = new Set([...Object.keys(c), ...Object.keys(h)]);
    const mine = (await buildMetricsSummary(m.registry)).families!.filter((f) => names.has(f.name!));
    expect(mine).toEqual((await buildMetricsSummary(ref)).families);
    expect(mine.length).toBe(names.size);
  });

  it('the running gauge reads the number set last when collected', async () => {
    const m = new WorkerMetrics({ worker_id: 'w-running' });
    const running = async () => promSamples(await m.registry.metrics()).get('taskwire_worker_tasks_running{worker_id="w-running"}');
    expect(await running()).toBe(0);
    for (const n of [1, 5, 3]) m.setRunning(n);
    expect(await running()).toBe(3);
  });
});

describe('a real worker\'s metric cells', () => {
  let c: TestCluster;
  let w: Worker;
  const ids: string[] = [];
  // An llm handler that reports a provider call (and an inference run) through ctx.telemetry, as the real ones do.
  const llm: TaskHandler = {
    kind: 'llm',
    run: async (ctx) => {
      const text = (ctx.input as { messages: { content: string }[] }).messages[0]!.content;
      const call = ctx.telemetry?.providerCall('openai', 'fake-model');
      call?.firstToken();
      ctx.telemetry?.inference({ model: 'linear', ok: true, queueMs: 1, computeMs: 2, batchRows: 2 });
      if (text === 'refuse') {
        call?.end({ code: 'PROVIDER_RATE_LIMIT' });
        throw new TaskFailure('PROVIDER_RATE_LIMIT', 'slow down (test)');
      }
      if (text === 'odd') {
        call?.end({ code: 'odd failure' }); // not a code: OTHER
        throw new Error('handler crash (test)'); // INTERNAL
      }
      call?.end({ usage: { prompt_tokens: 3, completion_tokens: 5 } });
      return { output: { text: 'ok' } };
    },
  };

  beforeAll(async () => {
    c = await startCluster({ workers: 0 });
    w = await c.addWorker({ kinds: ['echo', 'sleep', 'llm'], capacity: 8, metricsPort: 0, metricsHost: '127.0.0.1', metricsSummary: true, statusIntervalMs: 200 }, { handlers: [llm], tracingEnv: { PATH: '/nonexistent' } });
    await c.waitForWorkers(1);
    const submit = async (body: unknown) => {
      const v = await runTask(c.httpUrl, { max_attempts: 1, ...(body as object) }, 20_000);
      ids.push(v.id);
      return v;
    };
    for (let i = 0; i < 12; i++) await submit({ kind: 'echo', input: { text: `e${i}` } });
    for (const ms of [0, 5, 30]) await submit({ kind: 'sleep', input: { ms } });
    for (const content of ['hi', 'hi', 'refuse', 'odd', 'hi']) await submit({ kind: 'llm', input: { messages: [{ role: 'user', content }] } });
    // Cancelled while it runs.
    const { task } = c.master.tasks.admit({ kind: 'sleep', input: { ms: 60_000 }, maxAttempts: 1 });
    ids.push(task.id);
    await waitFor(() => c.master.tasks.get(task.id)?.status === 'running', 'the long sleep running', 15_000);
    c.master.tasks.cancel(task.id);
    await waitFor(() => c.master.tasks.get(task.id)?.status === 'cancelled', 'the long sleep cancelled', 15_000);
  }, 90_000);

  afterAll(async () => {
    await c?.close();
  });

  const scrape = async () => promSamples(await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text());

  it('counts attempts by kind and outcome, failures by code label, handler time, provider calls and inference runs as they happened', async () => {
    // The cancelled attempt's final is counted once the worker's handler has ended.
    const id = `worker_id="${w.id}"`;
    const s = await waitFor(async () => {
      const v = await scrape();
      return v.get(`taskwire_worker_tasks_total{kind="sleep",outcome="cancelled",${id}}`) === 1 && v;
    }, 'the cancelled attempt counted', 15_000, 50);
    const records = ids.map((x) => c.master.tasks.get(x)!);
    for (const kind of ['echo', 'sleep', 'llm']) {
      let all = 0;
      for (const outcome of ['succeeded', 'failed', 'cancelled']) {
        const n = records.filter((t) => t.kind === kind && t.status === outcome).length;
        all += n;
        expect(s.get(`taskwire_worker_tasks_total{kind="${kind}",outcome="${outcome}",${id}}`) ?? 0, `${kind} ${outcome}`).toBe(n);
        if (n === 0) continue;
        const count = s.get(`taskwire_worker_handler_seconds_count{${id},kind="${kind}",outcome="${outcome}"}`)!;
        expect(count).toBe(n);
        expect(s.get(`taskwire_worker_handler_seconds_bucket{le="+Inf",${id},kind="${kind}",outcome="${outcome}"}`)).toBe(n);
        let last = 0;
        for (const le of [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600]) {
          const b = s.get(`taskwire_worker_handler_seconds_bucket{le="${le}",${id},kind="${kind}",outcome="${outcome}"}`)!;
          expect(b).toBeGreaterThanOrEqual(last);
          last = b;
        }
        expect(last).toBe(n);
      }
      expect(all).toBe(records.filter((t) => t.kind === kind).length);
    }
    expect(records.filter((t) => t.kind === 'llm' && t.status === 'failed').length).toBe(2);
    expect(s.get(`taskwire_worker_task_failures_total{kind="llm",code="PROVIDER_RATE_LIMIT",${id}}`)).toBe(1);
    expect(s.get(`taskwire_worker_task_failures_total{kind="llm",code="INTERNAL",${id}}`)).toBe(1);
    // The sleep of 30 ms ran at least 30 ms: the handler time's sum is real time, not a count.
    expect(s.get(`taskwire_worker_handler_seconds_sum{${id},kind="sleep",outcome="succeeded"}`)!).toBeGreaterThanOrEqual(0.035);
    // Five llm attempts, each one provider call and one inference run through the same (untraced) telemetry.
    const pm = `provider="openai",model="fake-model"`;
    expect(s.get(`taskwire_worker_provider_requests_total{${pm},outcome="ok",${id}}`)).toBe(3);
    expect(s.get(`taskwire_worker_provider_requests_total{${pm},outcome="error",${id}}`)).toBe(2);
    expect(s.get(`taskwire_worker_provider_errors_total{provider="openai",code="PROVIDER_RATE_LIMIT",${id}}`)).toBe(1);
    expect(s.get(`taskwire_worker_provider_errors_total{provider="openai",code="OTHER",${id}}`)).toBe(1);
    expect(s.get(`taskwire_worker_provider_request_seconds_count{${id},${pm}}`)).toBe(5);
    expect(s.get(`taskwire_worker_provider_time_to_first_token_seconds_count{${id},${pm}}`)).toBe(5);
    expect(s.get(`taskwire_worker_llm_prompt_tokens_total{${pm},${id}}`)).toBe(9);
    expect(s.get(`taskwire_worker_llm_completion_tokens_total{${pm},${id}}`)).toBe(15);
    expect(s.get(`taskwire_worker_inference_requests_total{model="linear",outcome="ok",${id}}`)).toBe(5);
    expect(s.get(`taskwire_worker_inference_batch_rows_bucket{le="2",${id},model="linear"}`)).toBe(5);
    expect(s.get(`taskwire_worker_inference_request_seconds_sum{${id},model="linear"}`)).toBeCloseTo(0.015, 9);
    expect(s.get(`taskwire_worker_tasks_running{${id}}`)).toBe(0);
  });

  it('the master\'s /metrics shows the same per-task samples from the worker\'s summary', async () => {
    const id = `worker_id="${w.id}"`;
    /** name{labels} with the labels sorted, for comparing series written in another label order. */
    const norm = (k: string) => {
      const i = k.indexOf('{');
      if (i < 0) return k;
      return `${k.slice(0, i)}{${k.slice(i + 1, -1).split(',').sort().join(',')}}`;
    };
    const perTask = /^taskwire_worker_(tasks_total|task_failures_total|handler_seconds|provider_|llm_|inference_)/;
    const own = new Map([...(await scrape())].filter(([k]) => perTask.test(k)).map(([k, v]) => [norm(k), v]));
    expect(own.size).toBeGreaterThan(40);
    // The next periodic status (every 200 ms) carries a summary with every attempt.
    await waitFor(async () => {
      const m = new Map([...promSamples(await (await fetch(`${c.httpUrl}/metrics`)).text())].filter(([k]) => perTask.test(k) && k.includes(id)).map(([k, v]) => [norm(k), v]));
      return [...own].every(([k, v]) => m.get(k) === v) && m.size === own.size;
    }, 'the summary on the master equal to the worker\'s scrape', 15_000, 100);
  });
});
