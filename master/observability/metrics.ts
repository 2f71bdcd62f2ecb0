/**
 * Prometheus metrics of the master (prom-client), one registry per master.
 * The per-task counters and histograms (MetricObserver records them) are
 * CellCounter / CellHistogram: plain cells looked up once per label set,
 * handed to prom-client's registry only when /metrics is collected
 * (common/cell-metrics.ts); the rest are prom-client's own.
 * With `tenantLabel` (TASKWIRE_METRICS_TENANT_LABELS=on) the task counters
 * and histograms (submitted, finished, retries, dead letters, queue wait,
 * dispatch, run time) carry a `tenant` label too: at most MAX_TENANT_LABELS
 * tenants by name, every later one as `other` (bounded cardinality).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CellCounter, CellHistogram } from '../../common/cell-metrics.js';

export interface MasterMetricsOptions {
  /** A `tenant` label on the task counters and histograms (default false). */
  tenantLabel?: boolean;
}

/** Distinct tenant label values at most; later tenants are counted as `other`. */
export const MAX_TENANT_LABELS = 100;

export class MasterMetrics {
  readonly registry = new Registry();
  readonly tenantLabel: boolean;
  private readonly tenantValues = new Set<string>();
  /** `['tenant']` with the tenant label on, else none: spread into a task metric's labels. */
  private readonly t: string[];
  // The per-task metrics (recorded by MetricObserver) keep plain cells, handed to prom-client when collected (common/cell-metrics.ts).
  readonly submitted: CellCounter;
  readonly finished: CellCounter;
  readonly queueWait: CellHistogram;
  readonly runTime: CellHistogram;
  readonly retries: CellCounter;
  readonly deadLetters: CellCounter;
  readonly dispatch: CellHistogram;

  /** The tenant label value of a task's tenant (bounded: the first MAX_TENANT_LABELS by name, then `other`). */
  tenant(id: string): string {
    if (this.tenantValues.has(id)) return id;
    if (this.tenantValues.size >= MAX_TENANT_LABELS) return 'other';
    this.tenantValues.add(id);
    return id;
  }

  constructor(options: MasterMetricsOptions = {}) {
    this.tenantLabel = options.tenantLabel ?? false;
    this.t = this.tenantLabel ? ['tenant'] : [];
    this.submitted = new CellCounter({ name: 'taskwire_tasks_submitted_total', help: 'Tasks accepted', labelNames: ['kind', ...this.t], registers: [this.registry] });
    this.finished = new CellCounter({
      name: 'taskwire_tasks_finished_total',
      help: 'Tasks that reached a final state',
      labelNames: ['kind', 'status', ...this.t],
      registers: [this.registry],
    });
    this.queueWait = new CellHistogram({
      name: 'taskwire_task_queue_wait_seconds',
      help: 'Submit to start of the last attempt',
      labelNames: ['kind', ...this.t],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [this.registry],
    });
    this.runTime = new CellHistogram({
      name: 'taskwire_task_run_seconds',
      help: 'Worker processing time of the last attempt',
      labelNames: ['kind', ...this.t],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers: [this.registry],
    });
    this.retries = new CellCounter({
      name: 'taskwire_task_retries_total',
      help: 'Attempts that ended and put the task back in the queue, by kind and reason (error code)',
      labelNames: ['kind', 'reason', ...this.t],
      registers: [this.registry],
    });
    this.deadLetters = new CellCounter({
      name: 'taskwire_task_dead_letters_total',
      help: 'Tasks failed or expired after their last attempt, by kind and reason (error code)',
      labelNames: ['kind', 'reason', ...this.t],
      registers: [this.registry],
    });
    this.dispatch = new CellHistogram({
      name: 'taskwire_task_dispatch_seconds',
      help: 'Queued (submit or re-queue) to assigned to a worker, per attempt',
      labelNames: ['kind', ...this.t],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'taskwire_master_' });
    // prom-client's nodejs_active_{handles,requests,resources}_total are gauges named `_total`,
    // which `promtool check metrics` rejects; the same numbers are the sum over `type` of
    // nodejs_active_{handles,requests,resources}, which stay.
    for (const what of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`taskwire_master_nodejs_active_${what}_total`);
  }
  readonly rejectedResults = new Counter({
    name: 'taskwire_results_rejected_total',
    help: 'Result events refused, by reason (invalid_result_token, superseded_attempt, task_already_succeeded, ...)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly ttft = new CellHistogram({
    name: 'taskwire_task_time_to_first_token_seconds',
    help: 'Start of the last attempt to its first streamed chunk (llm tasks)',
    labelNames: ['kind'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly tokensPerSecond = new CellHistogram({
    name: 'taskwire_task_output_tokens_per_second',
    help: 'Completion tokens over the run time of the last attempt (succeeded tasks that report usage)',
    labelNames: ['kind'],
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly promptTokens = new CellCounter({
    name: 'taskwire_llm_prompt_tokens_total',
    help: 'Prompt (input) tokens of finished tasks, by model (`default` when the task named none)',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly completionTokens = new CellCounter({
    name: 'taskwire_llm_completion_tokens_total',
    help: 'Completion (output) tokens of finished tasks, by model (`default` when the task named none)',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly storeCommit = new CellHistogram({
    name: 'taskwire_store_commit_seconds',
    help: 'Durable store: a group commit handed to the writer thread until its acknowledgement',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly storeCommitRows = new CellHistogram({
    name: 'taskwire_store_commit_rows',
    help: 'Durable store: rows written per group commit',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly invalidMessages = new Counter({
    name: 'taskwire_invalid_messages_total',
    help: 'Malformed inbound messages dropped, by boundary',
    labelNames: ['boundary'],
    registers: [this.registry],
  });
  readonly mqttRefusals = new Counter({
    name: 'taskwire_mqtt_refused_connections_total',
    help: 'Connections the embedded MQTT broker refused, by reason (bad_credentials, packet_too_large, reserved_client_id, client_id_takeover, no_will)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly queued = new Gauge({ name: 'taskwire_tasks_queued', help: 'Tasks waiting for a worker', registers: [this.registry] });
  readonly running = new Gauge({ name: 'taskwire_tasks_running', help: 'Tasks assigned or running', registers: [this.registry] });
  readonly workers = new Gauge({ name: 'taskwire_workers', help: 'Workers by state', labelNames: ['state'], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'taskwire_queue_tasks', help: 'Tasks in the queue, by kind and priority (0..9)', labelNames: ['kind', 'priority'], registers: [this.registry] });
  readonly queueOldest = new Gauge({ name: 'taskwire_queue_oldest_age_seconds', help: 'Age (since submit) of the oldest task in the queue, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly queueOverdue = new Gauge({
    name: 'taskwire_queue_overdue_tasks',
    help: 'Tasks in the queue longer than their own queue timeout (should expire; > 0 means expiry lags), by kind',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({ name: 'taskwire_worker_in_flight_tasks', help: 'Tasks assigned to or running on each connected worker', labelNames: ['worker_id'], registers: [this.registry] });
  readonly kindWorkers = new Gauge({
    name: 'taskwire_kind_online_workers',
    help: 'Online (not draining) workers per kind, for every kind a known worker serves or a queued task needs',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly socketClients = new Gauge({ name: 'taskwire_socketio_clients', help: 'Connected Socket.IO clients', registers: [this.registry] });
  readonly eventFollowers = new Gauge({ name: 'taskwire_event_stream_followers', help: 'Clients following GET /api/v1/events', registers: [this.registry] });
}
