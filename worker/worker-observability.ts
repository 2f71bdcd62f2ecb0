/**
 * What the worker keeps about itself besides running tasks: its metrics
 * (worker/metrics-registry.ts; served on TASKWIRE_METRICS_PORT and/or sent as
 * the status summary), GPU gauges where nvidia-smi exists, readiness of each
 * advertised model, model loads (count, failures, time), and the tracer when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * `refresh()` runs on the status timer, before the periodic status goes out.
 */
import type { Env } from '../common/env.js';
import type { Logger } from '../common/logger.js';
import { type Tracing, tracingFromEnv } from '../common/otel-tracing.js';
import type { MetricsSummary } from '../common/gen/taskwire/v1/MetricsSummary.js';
import type { ModelInfo } from '../common/wire.js';
import { WorkerTelemetry } from './attempt-telemetry.js';
import type { ModelLoad } from './handlers/task-handler.js';
import { GpuMetrics } from './gpu-metrics.js';
import type { WorkerMetrics } from './metrics-registry.js';
import { buildMetricsSummary } from './metrics-summary.js';

export interface WorkerObservabilityOptions {
  workerId: string;
  metrics: WorkerMetrics | undefined;
  /** Send the summary in the status (TASKWIRE_METRICS_SUMMARY). */
  summary: boolean;
  models: () => ModelInfo[];
  /** Model loads since the last call (the inference handlers'); counted on each refresh. */
  modelLoads?: () => ModelLoad[];
  env: Env;
  log: Logger;
}

export class WorkerObservability {
  readonly telemetry: WorkerTelemetry | undefined;
  readonly gpu: GpuMetrics | undefined;
  private readonly tracing: Tracing | undefined;
  /** The latest summary (sent with every status once built). */
  summary: MetricsSummary | undefined;

  constructor(private readonly o: WorkerObservabilityOptions) {
    this.tracing = tracingFromEnv(o.env, 'taskwire-worker');
    if (this.tracing) o.log.info({ endpoint: this.tracing.endpoint }, 'exporting traces (OTLP/HTTP)');
    this.gpu = o.metrics ? GpuMetrics.detect(o.metrics.registry, o.env.PATH) : undefined;
    this.telemetry = o.metrics || this.tracing ? new WorkerTelemetry(o.workerId, o.metrics, this.tracing?.tracer) : undefined;
  }

  /** Model readiness, GPU and the summary, now. Never rejects. */
  async refresh(): Promise<void> {
    const m = this.o.metrics;
    if (!m) return;
    try {
      m.modelReady.reset();
      for (const info of this.o.models()) m.modelReady.set({ kind: info.kind, model: info.name, provider: info.provider || '' }, info.ready ? 1 : 0);
      for (const load of this.o.modelLoads?.() ?? []) m.modelLoad(load);
      await this.gpu?.refresh();
      if (this.o.summary) this.summary = await buildMetricsSummary(m.registry);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'metrics summary failed');
    }
  }

  /** Exports buffered spans. */
  async close(): Promise<void> {
    await this.tracing?.shutdown();
  }
}
