/**
 * Prometheus metrics recorded from the task event stream: a subscriber, not
 * called by the code that changes tasks. Counters and histograms move when
 * their event happens; gauges (queue depth, running, workers by state) are
 * read from the live state when /metrics is scraped (`refresh`).
 */
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import type { RejectionLog } from '../core/rejection-log.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';
import type { MasterMetrics } from './metrics.js';

export interface MetricObserverDeps {
  metrics: MasterMetrics;
  events: TaskEvents;
  rejections: RejectionLog;
  registry: WorkerRegistry;
  queued: () => number;
  running: () => number;
}

export class MetricObserver {
  private readonly unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: MetricObserverDeps) {
    const { metrics: m, events } = deps;
    this.unsubscribe.push(
      events.on('task.queued', (e) => m.submitted.inc({ kind: e.kind })),
      events.on(FINAL_EVENT_TYPES, (e) => {
        m.finished.inc({ kind: e.kind, status: e.type.slice('task.'.length) });
        if (e.queue_wait_ms !== null) m.queueWait.observe({ kind: e.kind }, e.queue_wait_ms / 1000);
        if (e.run_ms !== null) m.runTime.observe({ kind: e.kind }, e.run_ms / 1000);
      }),
    );
    deps.rejections.onRejected(() => m.rejectedResults.inc());
  }

  /** Sets the gauges from the live state (before a scrape). */
  refresh(): void {
    const { metrics: m, registry } = this.deps;
    m.queued.set(this.deps.queued());
    m.running.set(this.deps.running());
    const w = { online: 0, idle: 0, busy: 0, draining: 0, offline: 0 };
    for (const rec of registry.all()) {
      if (rec.state === 'offline') w.offline++;
      else if (rec.state === 'draining') w.draining++;
      else {
        w.online++;
        if (rec.inFlight.size >= rec.capacity) w.busy++;
        else w.idle++;
      }
    }
    for (const [state, n] of Object.entries(w)) m.workers.set({ state }, n);
  }

  /** The boundary a malformed inbound message was dropped at (grpc, mqtt, socket.io). */
  invalid(boundary: string): void {
    this.deps.metrics.invalidMessages.inc({ boundary });
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }
}
