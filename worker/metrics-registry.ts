/**
 * The worker's own Prometheus metrics (prom-client, one registry per
 * worker): process CPU, memory and event-loop lag (prom-client defaults,
 * prefix `taskwire_worker_`), attempts by kind and outcome, handler time and
 * running attempts. Served by metrics-server.ts on TASKWIRE_METRICS_PORT.
 * Labels: kind, outcome, error code (bounded: anything not LIKE_THIS is OTHER).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  readonly running = new Gauge({ name: 'taskwire_worker_tasks_running', help: 'Attempts running now', registers: [this.registry] });
  readonly capacity = new Gauge({ name: 'taskwire_worker_capacity', help: 'Attempts this worker runs at once', registers: [this.registry] });

  constructor(labels: { worker_id: string }) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'taskwire_worker_' });
    // Gauges named `_total` that `promtool check metrics` rejects (the same numbers stay without `_total`).
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`taskwire_worker_nodejs_active_${what}_total`);
  }

  /** One finished attempt. */
  attempt(kind: string, outcome: AttemptOutcome, seconds: number, code?: string): void {
    this.attempts.inc({ kind, outcome });
    this.handlerTime.observe({ kind, outcome }, Math.max(0, seconds));
    if (outcome === 'failed') this.failures.inc({ kind, code: code && CODE.test(code) ? code : 'OTHER' });
  }
}
