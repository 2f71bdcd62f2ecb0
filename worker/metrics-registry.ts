/**
 * The worker's own Prometheus metrics (prom-client, one registry per
 * worker): process CPU, memory and event-loop lag (prom-client defaults,
 * prefix `taskwire_worker_`), attempts by kind and outcome, handler time and
 * running attempts. Served by metrics-server.ts on TASKWIRE_METRICS_PORT.
 * Labels: kind, outcome, error code (bounded: anything not LIKE_THIS is OTHER).
 *
 * What is recorded per attempt, provider call or inference request (attempts,
 * failures, handler time, provider and inference counters and histograms) is
 * CellCounter / CellHistogram (common/cell-metrics.ts): the cells of a label
 * set are looked up once, on its first recording (so series come in the
 * order prom-client's would), and kept here by kind, provider and model; an
 * attempt then costs a Map lookup and a few additions, and prom-client reads
 * the cells only when the registry is collected (a scrape, the summary). The
 * running gauge reads a plain number then too (`setRunning`). Model loads,
 * readiness, capacity and GPU gauges, not per task, stay prom-client's own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CellCounter, CellHistogram, type CounterCell, type HistogramCell } from '../common/cell-metrics.js';
import type { InferenceRun } from './handlers/handler-telemetry.js';

export type AttemptOutcome = 'succeeded' | 'failed' | 'cancelled';

const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;

/** An error code as a label value (a closed set; anything else is OTHER). */
function codeLabel(code: string | undefined): string {
  return code && CODE.test(code) ? code : 'OTHER';
}

/** The value of `key` in `map`, made by `make` on first use. */
function kept<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

/** The cells of one kind's attempts: by outcome (each made on its first attempt), failures by code label. */
interface KindCells {
  outcomes: Partial<Record<AttemptOutcome, { count: CounterCell; time: HistogramCell }>>;
  failures: Map<string, CounterCell>;
}

/** The cells of one provider and model's calls, each made on its first recording. */
interface ProviderModelCells {
  ok?: CounterCell;
  error?: CounterCell;
  latency?: HistogramCell;
  ttft?: HistogramCell;
  prompt?: CounterCell;
  completion?: CounterCell;
}

/** The cells of one inference model's requests, each made on its first recording. */
interface InferenceCells {
  ok?: CounterCell;
  error?: CounterCell;
  latency?: HistogramCell;
  queue?: HistogramCell;
  batch?: HistogramCell;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly attempts = new CellCounter({
    name: 'taskwire_worker_tasks_total',
    help: 'Attempts this worker finished, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });
  readonly failures = new CellCounter({
    name: 'taskwire_worker_task_failures_total',
    help: 'Failed attempts by kind and error code',
    labelNames: ['kind', 'code'],
    registers: [this.registry],
  });
  readonly blobFetches = new CellCounter({
    name: 'taskwire_worker_blob_fetches_total',
    help: 'Input blobs fetched, by source: local (read from the master\'s blob directory, TASKWIRE_BLOB_DIR) or master (FetchBlob over gRPC)',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly handlerTime = new CellHistogram({
    name: 'taskwire_worker_handler_seconds',
    help: 'Handler time of an attempt (start to final), by kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  readonly providerRequests = new CellCounter({
    name: 'taskwire_worker_provider_requests_total',
    help: 'LLM provider calls, by provider, model and outcome (ok, error)',
    labelNames: ['provider', 'model', 'outcome'],
    registers: [this.registry],
  });
  readonly providerErrors = new CellCounter({
    name: 'taskwire_worker_provider_errors_total',
    help: 'Failed LLM provider calls, by provider and error code (PROVIDER_RATE_LIMIT, PROVIDER_UNAVAILABLE, ...)',
    labelNames: ['provider', 'code'],
    registers: [this.registry],
  });
  readonly providerLatency = new CellHistogram({
    name: 'taskwire_worker_provider_request_seconds',
    help: 'LLM provider call, request to the end of the answer (or the failure), by provider and model',
    labelNames: ['provider', 'model'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly providerTtft = new CellHistogram({
    name: 'taskwire_worker_provider_time_to_first_token_seconds',
    help: 'LLM provider call, request to the first streamed token, by provider and model',
    labelNames: ['provider', 'model'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly promptTokens = new CellCounter({
    name: 'taskwire_worker_llm_prompt_tokens_total',
    help: 'Prompt (input) tokens the provider reported, by provider and model',
    labelNames: ['provider', 'model'],
    registers: [this.registry],
  });
  readonly completionTokens = new CellCounter({
    name: 'taskwire_worker_llm_completion_tokens_total',
    help: 'Completion (output) tokens the provider reported, by provider and model',
    labelNames: ['provider', 'model'],
    registers: [this.registry],
  });
  readonly inferenceRequests = new CellCounter({
    name: 'taskwire_worker_inference_requests_total',
    help: 'ONNX inference requests, by model and outcome (ok, error)',
    labelNames: ['model', 'outcome'],
    registers: [this.registry],
  });
  readonly inferenceLatency = new CellHistogram({
    name: 'taskwire_worker_inference_request_seconds',
    help: 'ONNX inference request, batch queue plus compute, by model',
    labelNames: ['model'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly inferenceQueue = new CellHistogram({
    name: 'taskwire_worker_inference_queue_seconds',
    help: 'ONNX inference request, time waiting in the dynamic batcher, by model',
    labelNames: ['model'],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly inferenceBatch = new CellHistogram({
    name: 'taskwire_worker_inference_batch_rows',
    help: 'Rows of the batch an ONNX inference request ran in (1: alone), by model',
    labelNames: ['model'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly modelReady = new Gauge({
    name: 'taskwire_worker_model_ready',
    help: 'Models this worker advertises, 1 ready, 0 not (loading, failed, provider cooling down), by kind, model and provider',
    labelNames: ['kind', 'model', 'provider'],
    registers: [this.registry],
  });
  readonly modelLoads = new Counter({
    name: 'taskwire_worker_model_loads_total',
    help: 'ONNX model (version) loads, by model and outcome (ok, error)',
    labelNames: ['model', 'outcome'],
    registers: [this.registry],
  });
  readonly modelLoadTime = new Histogram({
    name: 'taskwire_worker_model_load_seconds',
    help: 'ONNX model load (sessions created and warmed up) until ready, successful loads, by model',
    labelNames: ['model'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  private runningNow = 0;
  readonly running: Gauge = new Gauge({
    name: 'taskwire_worker_tasks_running',
    help: 'Attempts running now',
    registers: [this.registry],
    collect: (): void => this.running.set(this.runningNow),
  });
  readonly capacity = new Gauge({ name: 'taskwire_worker_capacity', help: 'Attempts this worker runs at once', registers: [this.registry] });

  constructor(labels: { worker_id: string }) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'taskwire_worker_' });
    // Gauges named `_total` that `promtool check metrics` rejects (the same numbers stay without `_total`).
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`taskwire_worker_nodejs_active_${what}_total`);
  }

  // The cells looked up so far (label values are bounded: kinds, codes, configured providers and models).
  private readonly kindCells = new Map<string, KindCells>();
  private readonly providerCells = new Map<string, Map<string, ProviderModelCells>>();
  private readonly providerErrorCells = new Map<string, Map<string, CounterCell>>();
  private readonly inferenceCells = new Map<string, InferenceCells>();

  /** Attempts running now (the gauge reads it when collected). */
  setRunning(n: number): void {
    this.runningNow = n;
  }

  /** One LLM provider call. */
  providerCall(provider: string, model: string, seconds: number, ttftSeconds: number | undefined, code: string | undefined, usage: { prompt_tokens: number; completion_tokens: number } | undefined): void {
    const c = kept(kept(this.providerCells, provider, () => new Map<string, ProviderModelCells>()), model, (): ProviderModelCells => ({}));
    if (code) (c.error ??= this.providerRequests.cell({ provider, model, outcome: 'error' })).value++;
    else (c.ok ??= this.providerRequests.cell({ provider, model, outcome: 'ok' })).value++;
    (c.latency ??= this.providerLatency.cell({ provider, model })).observe(Math.max(0, seconds));
    if (ttftSeconds !== undefined) (c.ttft ??= this.providerTtft.cell({ provider, model })).observe(Math.max(0, ttftSeconds));
    if (code) {
      const label = codeLabel(code);
      kept(kept(this.providerErrorCells, provider, () => new Map<string, CounterCell>()), label, () => this.providerErrors.cell({ provider, code: label })).value++;
    }
    if (usage) {
      if (usage.prompt_tokens > 0) (c.prompt ??= this.promptTokens.cell({ provider, model })).value += usage.prompt_tokens;
      if (usage.completion_tokens > 0) (c.completion ??= this.completionTokens.cell({ provider, model })).value += usage.completion_tokens;
    }
  }

  /** One inference request. */
  inference(run: InferenceRun): void {
    const model = run.model;
    const c = kept(this.inferenceCells, model, (): InferenceCells => ({}));
    if (!run.ok) {
      (c.error ??= this.inferenceRequests.cell({ model, outcome: 'error' })).value++;
      return;
    }
    (c.ok ??= this.inferenceRequests.cell({ model, outcome: 'ok' })).value++;
    if (run.queueMs !== undefined || run.computeMs !== undefined) (c.latency ??= this.inferenceLatency.cell({ model })).observe(((run.queueMs ?? 0) + (run.computeMs ?? 0)) / 1000);
    if (run.queueMs !== undefined) (c.queue ??= this.inferenceQueue.cell({ model })).observe(run.queueMs / 1000);
    if (run.batchRows !== undefined && run.batchRows > 0) (c.batch ??= this.inferenceBatch.cell({ model })).observe(run.batchRows);
  }

  /** One model load (ok or failed). */
  modelLoad(load: { model: string; ok: boolean; seconds: number }): void {
    this.modelLoads.inc({ model: load.model, outcome: load.ok ? 'ok' : 'error' });
    if (load.ok) this.modelLoadTime.observe({ model: load.model }, Math.max(0, load.seconds));
  }

  /** One finished attempt. */
  attempt(kind: string, outcome: AttemptOutcome, seconds: number, code?: string): void {
    const k = kept(this.kindCells, kind, (): KindCells => ({ outcomes: {}, failures: new Map() }));
    const o = (k.outcomes[outcome] ??= { count: this.attempts.cell({ kind, outcome }), time: this.handlerTime.cell({ kind, outcome }) });
    o.count.value++;
    o.time.observe(Math.max(0, seconds));
    if (outcome === 'failed') {
      const label = codeLabel(code);
      kept(k.failures, label, () => this.failures.cell({ kind, code: label })).value++;
    }
  }
}
