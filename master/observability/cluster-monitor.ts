/**
 * Periodic cluster summary: published retained on `{root}/cluster/status`
 * and sent to browsers. Its totals and rates count events of the task event
 * stream (a subscriber); load and queue depth are read when it is asked.
 */
import { DIAGNOSTIC_KIND_NAMES } from '../../common/kind-names.js';
import type { Clock } from '../../common/clock.js';
import type { ClusterView } from '../../common/task-view.js';
import type { ClusterStatus } from '../../common/wire.js';
import type { TaskService } from '../core/task-service.js';
import type { TaskEvents } from '../core/task-events.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';

export class ClusterMonitor {
  private last = { atMs: 0, submitted: 0, completed: 0, failed: 0 };
  private rates = { submitted: 0, completed: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  /** Totals since start, counted from events. */
  private readonly totals = { submitted: 0, succeeded: 0, failed: 0 };

  constructor(
    private readonly masterId: string,
    private readonly tasks: TaskService,
    private readonly registry: WorkerRegistry,
    events: TaskEvents,
    private readonly clock: Clock,
  ) {
    this.last.atMs = clock.now();
    const t = this.totals;
    events.on('task.queued', () => t.submitted++);
    events.on('task.succeeded', () => t.succeeded++);
    events.on(['task.failed', 'task.cancelled'], () => t.failed++);
  }

  start(intervalMs: number, publish: (s: ClusterStatus) => void): void {
    this.timer = setInterval(() => {
      this.sample();
      publish(this.status());
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const now = this.clock.now();
    const c = this.totals;
    const dt = Math.max(1, now - this.last.atMs) / 1000;
    const completed = c.succeeded;
    const failed = c.failed;
    this.rates = {
      submitted: (c.submitted - this.last.submitted) / dt,
      completed: (completed - this.last.completed) / dt,
      failed: (failed - this.last.failed) / dt,
    };
    this.last = { atMs: now, submitted: c.submitted, completed, failed };
  }

  private counts() {
    const w = { online: 0, idle: 0, busy: 0, draining: 0, offline: 0 };
    let capacity = 0;
    for (const rec of this.registry.all()) {
      if (rec.state === 'offline') w.offline++;
      else if (rec.state === 'draining') w.draining++;
      else {
        w.online++;
        capacity += rec.capacity;
        if (rec.inFlight.size >= rec.capacity) w.busy++;
        else w.idle++;
      }
    }
    return { w, capacity };
  }

  status(): ClusterStatus {
    const { w, capacity } = this.counts();
    const running = this.tasks.runningCount();
    const c = this.totals;
    return {
      master_id: this.masterId,
      ts_ms: this.clock.now(),
      workers: w,
      queued: this.tasks.queue.size,
      running,
      capacity,
      submitted_per_s: round(this.rates.submitted),
      completed_per_s: round(this.rates.completed),
      failed_per_s: round(this.rates.failed),
      total_submitted: c.submitted,
      total_completed: c.succeeded,
      total_failed: c.failed,
    };
  }

  view(): ClusterView {
    const { w, capacity } = this.counts();
    return {
      master_id: this.masterId,
      workers: w,
      queued: this.tasks.queue.size,
      running: this.tasks.runningCount(),
      capacity,
      submitted_per_s: round(this.rates.submitted),
      completed_per_s: round(this.rates.completed),
      kinds: [...new Set([...DIAGNOSTIC_KIND_NAMES, ...this.registry.kinds()])].sort(),
    };
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
