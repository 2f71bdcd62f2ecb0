/**
 * The worker's own Prometheus metrics (prom-client, one registry per
 * worker): process CPU, memory and event-loop lag (prom-client defaults,
 * prefix `taskwire_worker_`), attempts by kind and outcome, handler time and
 * running attempts. Served by metrics-server.ts on TASKWIRE_METRICS_PORT.
 * Labels: kind, outcome, error code (bounded: anything not LIKE_THIS is OTHER).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { InferenceRun } from './handlers/handler-telemetry.js';

export type AttemptOutcome = 'succeeded' | 'failed' | 'cancelled';

const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly attempts = new Counter({
    name: 'taskwire_worker_tasks_total',
    help: 'Attempts this worker finished, by kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'taskwire_worker_task_failures_total',
    help: 'Failed attempts by kind and error code',
    labelNames: ['kind', 'code'],
    registers: [this.registry],
  });
  readonly handlerTime = new Histogram({
    name: 'taskwire_worker_handler_seconds',
    help: 'Handler time of an attempt (start to final), by kind and outcome',
    labelNames: ['kind', 'outcome'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [this.registry],
  });
  readonly providerRequests = new Counter({
    name: 'taskwire_worker_provider_requests_total',
    help: 'LLM provider calls, by provider, model and outcome (ok, error)',
    labelNames: ['provider', 'model', 'outcome'],
    registers: [this.registry],
  });
  readonly providerErrors = new Counter({
    name: 'taskwire_worker_provider_errors_total',
    help: 'Failed LLM provider calls, by provider and error code (PROVIDER_RATE_LIMIT, PROVIDER_UNAVAILABLE, ...)',
    labelNames: ['provider', 'code'],
    registers: [this.registry],
  });
  readonly providerLatency = new Histogram({
    name: 'taskwire_worker_provider_request_seconds',
    help: 'LLM provider call, request to the end of the answer (or the failure), by provider and model',
    labelNames: ['provider', 'model'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly providerTtft = new Histogram({
    name: 'taskwire_worker_provider_time_to_first_token_seconds',
    help: 'LLM provider call, request to the first streamed token, by provider and model',
    labelNames: ['provider', 'model'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly promptTokens = new Counter({
    name: 'taskwire_worker_llm_prompt_tokens_total',
    help: 'Prompt (input) tokens the provider reported, by provider and model',
    labelNames: ['provider', 'model'],
    registers: [this.registry],
  });
  readonly completionTokens = new Counter({
    name: 'taskwire_worker_llm_completion_tokens_total',
    help: 'Completion (output) tokens the provider reported, by provider and model',
    labelNames: ['provider', 'model'],
    registers: [this.registry],
  });
  readonly inferenceRequests = new Counter({
    name: 'taskwire_worker_inference_requests_total',
    help: 'ONNX inference requests, by model and outcome (ok, error)',
    labelNames: ['model', 'outcome'],
    registers: [this.registry],
  });
  readonly inferenceLatency = new Histogram({
    name: 'taskwire_worker_inference_request_seconds',
    help: 'ONNX inference request, batch queue plus compute, by model',
    labelNames: ['model'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly inferenceQueue = new Histogram({
    name: 'taskwire_worker_inference_queue_seconds',
    help: 'ONNX inference request, time waiting in the dynamic batcher, by model',
    labelNames: ['model'],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });
  readonly inferenceBatch = new Histogram({
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
  readonly running = new Gauge({ name: 'taskwire_worker_tasks_running', help: 'Attempts running now', registers: [this.registry] });
  readonly capacity = new Gauge({ name: 'taskwire_worker_capacity', help: 'Attempts this worker runs at once', registers: [this.registry] });

  constructor(labels: { worker_id: string }) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'taskwire_worker_' });
    // Gauges named `_total` that `promtool check metrics` rejects (the same numbers stay without `_total`).
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`taskwire_worker_nodejs_active_${what}_total`);
  }

  /** One LLM provider call. */
  providerCall(provider: string, model: string, seconds: number, ttftSeconds: number | undefined, code: string | undefined, usage: { prompt_tokens: number; completion_tokens: number } | undefined): void {
    this.providerRequests.inc({ provider, model, outcome: code ? 'error' : 'ok' });
    this.providerLatency.observe({ provider, model }, Math.max(0, seconds));
    if (ttftSeconds !== undefined) this.providerTtft.observe({ provider, model }, Math.max(0, ttftSeconds));
    if (code) this.providerErrors.inc({ provider, code: CODE.test(code) ? code : 'OTHER' });
    if (usage) {
      if (usage.prompt_tokens > 0) this.promptTokens.inc({ provider, model }, usage.prompt_tokens);
      if (usage.completion_tokens > 0) this.completionTokens.inc({ provider, model }, usage.completion_tokens);
    }
  }

  /** One inference request. */
  inference(run: InferenceRun): void {
    const model = run.model;
    this.inferenceRequests.inc({ model, outcome: run.ok ? 'ok' : 'error' });
    if (!run.ok) return;
    if (run.queueMs !== undefined || run.computeMs !== undefined) this.inferenceLatency.observe({ model }, ((run.queueMs ?? 0) + (run.computeMs ?? 0)) / 1000);
    if (run.queueMs !== undefined) this.inferenceQueue.observe({ model }, run.queueMs / 1000);
    if (run.batchRows !== undefined && run.batchRows > 0) this.inferenceBatch.observe({ model }, run.batchRows);
  }

  /** One model load (ok or failed). */
  modelLoad(load: { model: string; ok: boolean; seconds: number }): void {
    this.modelLoads.inc({ model: load.model, outcome: load.ok ? 'ok' : 'error' });
    if (load.ok) this.modelLoadTime.observe({ model: load.model }, Math.max(0, load.seconds));
  }

  /** One finished attempt. */
  attempt(kind: string, outcome: AttemptOutcome, seconds: number, code?: string): void {
    this.attempts.inc({ kind, outcome });
    this.handlerTime.observe({ kind, outcome }, Math.max(0, seconds));
    if (outcome === 'failed') this.failures.inc({ kind, code: code && CODE.test(code) ? code : 'OTHER' });
  }
}
