/**
 * Prometheus metrics recorded from the task event stream: a subscriber, not
 * called by the code that changes tasks. Counters and histograms move when
 * their event happens; gauges (queue depth and age, running, workers by
 * state and kind, in-flight per worker, clients) are read from the live
 * state when /metrics is scraped (`refresh`).
 *
 * Labels stay bounded: kinds, models a worker served, error codes (anything
 * that is not a CODE_LIKE_THIS becomes `OTHER`), rejection phrases without
 * their ids, priorities 0..9 and connected worker ids; never task or session
 * ids. A `tenant` label (the task's tenant, bounded by MasterMetrics) on the
 * task counters and histograms only when the metrics were made with
 * `tenantLabel`.
 *
 * Per task this is nearly free: the cells of a kind's (and tenant's) series
 * are looked up once and kept (`TaskCells`), so an event costs a Map lookup
 * by kind and a few additions (a histogram: a binary search over its bounds);
 * prom-client sees the values only when /metrics is collected.
 */
import { FINAL_EVENT_TYPES, type FinalEventType, type TaskEvents } from '../core/task-events.js';
import type { RejectionLog } from '../core/rejection-log.js';
import type { TaskRecord } from '../core/task-record.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';
import type { CounterCell, HistogramCell } from '../../common/cell-metrics.js';
import type { MasterMetrics } from './metrics.js';
import { WorkerSummaries } from './worker-summaries.js';

export interface MetricObserverDeps {
  metrics: MasterMetrics;
  events: TaskEvents;
  rejections: RejectionLog;
  registry: WorkerRegistry;
  queued: () => number;
  running: () => number;
  /** The tasks in the queue (depth by kind and priority, oldest age). */
  queuedTasks?: () => Iterable<TaskRecord>;
  now?: () => number;
  /** Registers the store's commit listener (durable store only). */
  commits?: (listener: (seconds: number, rows: number) => void) => void;
  socketClients?: () => number;
  eventFollowers?: () => number;
}

const CODE = /^[A-Z][A-Z0-9_]{0,47}$/;

/** An error code as a label value: codes are a closed set; anything else is `OTHER`. */
export function codeLabel(code: string | undefined | null): string {
  return code && CODE.test(code) ? code : 'OTHER';
}

/** A rejection reason as a label value: its words up to the first number, quote, colon or parenthesis. */
export function reasonLabel(reason: string): string {
  const head = reason.split(/[0-9:"'(]/, 1)[0]!.trim().toLowerCase();
  const slug = head.replace(/[^a-z]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 48);
  return slug || 'other';
}

const INITIAL_REJECTION_REASONS = ['invalid_result_token', 'unknown_task', 'superseded_attempt', 'attempt_already_ended_by_the_master'];

/** The cells a kind's task events record into (with the tenant label: a kind's and tenant's), looked up once. */
interface TaskCells {
  submitted: CounterCell;
  finished: Record<FinalEventType, CounterCell>;
  queueWait: HistogramCell;
  runTime: HistogramCell;
  dispatch: HistogramCell;
  /** By reason label (error codes: a closed set, else OTHER). */
  retries: Map<string, CounterCell>;
  deadLetters: Map<string, CounterCell>;
  /** Labelled by kind only (also with the tenant label on). */
  ttft: HistogramCell;
  tokensPerSecond: HistogramCell;
}

/** When the task last entered the queue (submit or re-queue). */
function queuedSinceMs(t: TaskRecord): number {
  for (let i = t.history.length - 1; i >= 0; i--) if (t.history[i]!.status === 'queued') return t.history[i]!.atMs;
  return t.createdAtMs;
}

export class MetricObserver {
  private readonly unsubscribe: (() => void)[] = [];
  /** kind -> cells; with the tenant label, kind -> tenant label -> cells. */
  private readonly byKind = new Map<string, TaskCells>();
  private readonly byKindTenant = new Map<string, Map<string, TaskCells>>();
  /** Token counters by model. */
  private readonly promptByModel = new Map<string, CounterCell>();
  private readonly completionByModel = new Map<string, CounterCell>();
  /** The workers' own metrics (WorkerStatus.metrics), labelled by worker_id. */
  readonly workerSummaries: WorkerSummaries;

  constructor(private readonly deps: MetricObserverDeps) {
    const m = deps.metrics;
    this.workerSummaries = new WorkerSummaries(m.registry, deps.registry);
    this.resume();
    // The common reasons exist from the start (at 0), so a rate over them is 0, not empty.
    for (const reason of INITIAL_REJECTION_REASONS) m.rejectedResults.inc({ reason }, 0);
    deps.rejections.onRejected((reason) => m.rejectedResults.inc({ reason: reasonLabel(reason) }));
    const commit = m.storeCommit.cell();
    const commitRows = m.storeCommitRows.cell();
    deps.commits?.((seconds, rows) => {
      commit.observe(seconds);
      commitRows.observe(rows);
    });
  }

  /**
   * Stops counting the task events (their listeners leave the stream, so no
   * event is built for them alone) until `resume()`: the overhead bench's A/B
   * on one master. The gauges and worker summaries go on.
   */
  pause(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** Counts the task events (again); a no-op while counting. */
  resume(): void {
    if (this.unsubscribe.length > 0) return;
    const { events } = this.deps;
    this.unsubscribe.push(
      events.on('task.queued', (e) => this.cellsOf(e.kind, e.tenant).submitted.value++),
      events.on('task.retried', (e) => {
        const reason = codeLabel(e.code);
        counterOf(this.cellsOf(e.kind, e.tenant).retries, reason, () => this.taskLabels(e.kind, e.tenant, { reason }), this.deps.metrics.retries).value++;
      }),
      events.on('task.assigned', (e, t) => {
        if (t.assignedAtMs !== null) this.cellsOf(e.kind, e.tenant).dispatch.observe(Math.max(0, t.assignedAtMs - queuedSinceMs(t)) / 1000);
      }),
      events.on(FINAL_EVENT_TYPES, (e, t) => {
        const c = this.cellsOf(e.kind, e.tenant);
        c.finished[e.type].value++;
        if (e.queue_wait_ms !== null) c.queueWait.observe(e.queue_wait_ms / 1000);
        if (e.run_ms !== null) c.runTime.observe(e.run_ms / 1000);
        if ((e.type === 'task.failed' || e.type === 'task.expired') && e.attempt >= t.maxAttempts) {
          const reason = codeLabel(e.error?.code);
          counterOf(c.deadLetters, reason, () => this.taskLabels(e.kind, e.tenant, { reason }), this.deps.metrics.deadLetters).value++;
        }
        if (t.firstChunkAtMs !== null && t.startedAtMs !== null) c.ttft.observe(Math.max(0, t.firstChunkAtMs - t.startedAtMs) / 1000);
        const usage = t.usage;
        if (usage) {
          // Only models a worker actually served reach here (bounded by the cluster's models).
          const model = t.requirement.model ?? 'default';
          const m = this.deps.metrics;
          if (usage.prompt_tokens > 0) counterOf(this.promptByModel, model, () => ({ model }), m.promptTokens).value += usage.prompt_tokens;
          if (usage.completion_tokens > 0) counterOf(this.completionByModel, model, () => ({ model }), m.completionTokens).value += usage.completion_tokens;
          if (e.type === 'task.succeeded' && e.run_ms !== null && e.run_ms > 0 && usage.completion_tokens > 0) {
            c.tokensPerSecond.observe(usage.completion_tokens / (e.run_ms / 1000));
          }
        }
      }),
    );
  }

  /** The labels of a task metric: its kind, its tenant when the tenant label is on, and `extra`. */
  private taskLabels(kind: string, tenant: string, extra: Record<string, string> = {}): Record<string, string> {
    const m = this.deps.metrics;
    return m.tenantLabel ? { kind, tenant: m.tenant(tenant), ...extra } : { kind, ...extra };
  }

  /** The cells of a task's kind (and tenant): a Map lookup, the series made the first time a kind (and tenant) is seen. */
  private cellsOf(kind: string, tenant: string): TaskCells {
    const m = this.deps.metrics;
    if (!m.tenantLabel) {
      let c = this.byKind.get(kind);
      if (!c) this.byKind.set(kind, (c = this.newCells(kind, tenant)));
      return c;
    }
    const label = m.tenant(tenant);
    let byTenant = this.byKindTenant.get(kind);
    if (!byTenant) this.byKindTenant.set(kind, (byTenant = new Map()));
    let c = byTenant.get(label);
    if (!c) byTenant.set(label, (c = this.newCells(kind, tenant)));
    return c;
  }

  private newCells(kind: string, tenant: string): TaskCells {
    const m = this.deps.metrics;
    const labels = this.taskLabels(kind, tenant);
    const finished = (status: string) => m.finished.cell({ ...labels, status });
    return {
      submitted: m.submitted.cell(labels),
      finished: { 'task.succeeded': finished('succeeded'), 'task.failed': finished('failed'), 'task.cancelled': finished('cancelled'), 'task.expired': finished('expired') },
      queueWait: m.queueWait.cell(labels),
      runTime: m.runTime.cell(labels),
      dispatch: m.dispatch.cell(labels),
      retries: new Map(),
      deadLetters: new Map(),
      ttft: m.ttft.cell({ kind }),
      tokensPerSecond: m.tokensPerSecond.cell({ kind }),
    };
  }

  /** Sets the gauges from the live state (before a scrape). */
  refresh(): void {
    const { metrics: m, registry } = this.deps;
    this.workerSummaries.refresh();
    m.queued.set(this.deps.queued());
    m.running.set(this.deps.running());
    const w = { online: 0, idle: 0, busy: 0, draining: 0, offline: 0 };
    const kindWorkers = new Map<string, number>();
    m.inFlight.reset();
    for (const rec of registry.all()) {
      for (const k of rec.kinds) if (!kindWorkers.has(k)) kindWorkers.set(k, 0);
      if (rec.state === 'offline') w.offline++;
      else {
        m.inFlight.set({ worker_id: rec.id }, rec.inFlight.size);
        if (rec.state === 'draining') w.draining++;
        else {
          w.online++;
          for (const k of rec.kinds) kindWorkers.set(k, kindWorkers.get(k)! + 1);
          if (rec.inFlight.size >= rec.capacity) w.busy++;
          else w.idle++;
        }
      }
    }
    for (const [state, n] of Object.entries(w)) m.workers.set({ state }, n);
    this.refreshQueue(kindWorkers);
    m.kindWorkers.reset();
    for (const [kind, n] of kindWorkers) m.kindWorkers.set({ kind }, n);
    if (this.deps.socketClients) m.socketClients.set(this.deps.socketClients());
    if (this.deps.eventFollowers) m.eventFollowers.set(this.deps.eventFollowers());
  }

  private refreshQueue(kindWorkers: Map<string, number>): void {
    const { metrics: m } = this.deps;
    m.queueDepth.reset();
    m.queueOldest.reset();
    m.queueOverdue.reset();
    const now = (this.deps.now ?? Date.now)();
    const depth = new Map<string, Map<number, number>>();
    const oldest = new Map<string, number>();
    const overdue = new Map<string, number>();
    for (const t of this.deps.queuedTasks?.() ?? []) {
      let byPrio = depth.get(t.kind);
      if (!byPrio) depth.set(t.kind, (byPrio = new Map()));
      byPrio.set(t.priority, (byPrio.get(t.priority) ?? 0) + 1);
      oldest.set(t.kind, Math.min(oldest.get(t.kind) ?? Infinity, t.createdAtMs));
      const late = t.queueTimeoutMs > 0 && now - t.createdAtMs > t.queueTimeoutMs ? 1 : 0;
      overdue.set(t.kind, (overdue.get(t.kind) ?? 0) + late);
      if (!kindWorkers.has(t.kind)) kindWorkers.set(t.kind, 0);
    }
    for (const [kind, byPrio] of depth) for (const [priority, n] of byPrio) m.queueDepth.set({ kind, priority: String(priority) }, n);
    // Every known kind has an age and an overdue count (0 when nothing of it waits).
    for (const kind of kindWorkers.keys()) {
      const at = oldest.get(kind);
      m.queueOldest.set({ kind }, at === undefined ? 0 : Math.max(0, now - at) / 1000);
      m.queueOverdue.set({ kind }, overdue.get(kind) ?? 0);
    }
  }

  /** The boundary a malformed inbound message was dropped at (grpc, mqtt, socket.io). */
  invalid(boundary: string): void {
    this.deps.metrics.invalidMessages.inc({ boundary });
  }

  stop(): void {
    this.pause();
    this.workerSummaries.stop();
  }
}

/** The counter cell of `key` in `cache`, taken from `counter` (with `labels()`) the first time. */
function counterOf(cache: Map<string, CounterCell>, key: string, labels: () => Record<string, string>, counter: { cell(labels: Record<string, string>): CounterCell }): CounterCell {
  let c = cache.get(key);
  if (!c) cache.set(key, (c = counter.cell(labels())));
  return c;
}
