/**
 * Periodic cluster summary: published retained on `{root}/cluster/status`
 * and sent to browsers. Its totals and rates count events of the task event
 * stream (a subscriber); load and queue depth are read when it is asked.
 *
 * `view(tenant)` is the summary a tenant's caller gets: only the workers that
 * serve the tenant (pinned to it or shared), its own queued and running
 * tasks, its own rates, and the kinds those workers serve.
 */
import { DIAGNOSTIC_KIND_NAMES } from '../../common/kind-names.js';
import type { Clock } from '../../common/clock.js';
import type { ClusterView } from '../../common/task-view.js';
import type { ClusterStatus } from '../../common/wire.js';
import type { TaskService } from '../core/task-service.js';
import type { TaskEvents } from '../core/task-events.js';
import type { WorkerRecord, WorkerRegistry } from '../scheduling/worker-registry.js';

export class ClusterMonitor {
  private last = { atMs: 0, submitted: 0, completed: 0, failed: 0 };
  private rates = { submitted: 0, completed: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  /** Totals since start, counted from events. */
  private readonly totals = { submitted: 0, succeeded: 0, failed: 0 };
  /** Per tenant: totals since start and the rates of the last sample. */
  private readonly tenants = new Map<string, { submitted: number; succeeded: number; last: { submitted: number; succeeded: number }; rates: { submitted: number; completed: number } }>();
  private queuedByTenant: { atMs: number; counts: Map<string, number> } | undefined;

  constructor(
    private readonly masterId: string,
    private readonly tasks: TaskService,
    private readonly registry: WorkerRegistry,
    events: TaskEvents,
    private readonly clock: Clock,
  ) {
    this.last.atMs = clock.now();
    const t = this.totals;
    events.on('task.queued', (e) => (t.submitted++, this.tenant(e.tenant).submitted++));
    events.on('task.succeeded', (e) => (t.succeeded++, this.tenant(e.tenant).succeeded++));
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
    for (const x of this.tenants.values()) {
      x.rates = { submitted: (x.submitted - x.last.submitted) / dt, completed: (x.succeeded - x.last.succeeded) / dt };
      x.last = { submitted: x.submitted, succeeded: x.succeeded };
    }
  }

  private tenant(id: string) {
    let x = this.tenants.get(id);
    if (!x) this.tenants.set(id, (x = { submitted: 0, succeeded: 0, last: { submitted: 0, succeeded: 0 }, rates: { submitted: 0, completed: 0 } }));
    return x;
  }

  private counts(serves: (rec: WorkerRecord) => boolean = () => true) {
    const w = { online: 0, idle: 0, busy: 0, draining: 0, offline: 0 };
    let capacity = 0;
    for (const rec of this.registry.all()) {
      if (!serves(rec)) continue;
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

  /** The summary; with `tenant`, only what that tenant may see (see the header). */
  view(tenant?: string): ClusterView {
    if (tenant !== undefined) return this.tenantView(tenant);
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

  private tenantView(tenant: string): ClusterView {
    const serves = (rec: WorkerRecord) => rec.tenants === null || rec.tenants.has(tenant);
    const { w, capacity } = this.counts(serves);
    const kinds = new Set<string>(DIAGNOSTIC_KIND_NAMES);
    let running = 0;
    for (const rec of this.registry.all()) {
      if (rec.state === 'online' && serves(rec)) for (const k of rec.kinds) kinds.add(k);
      for (const id of rec.inFlight) if ((this.tasks.get(id)?.tenant ?? 'default') === tenant) running++;
    }
    const rates = this.tenants.get(tenant)?.rates ?? { submitted: 0, completed: 0 };
    return {
      master_id: this.masterId,
      workers: w,
      queued: this.queuedOf(tenant),
      running,
      capacity,
      submitted_per_s: round(rates.submitted),
      completed_per_s: round(rates.completed),
      kinds: [...kinds].sort(),
    };
  }

  /** Queued tasks of `tenant`: one pass over the queue counts every tenant, reused for 250 ms. */
  private queuedOf(tenant: string): number {
    const now = this.clock.now();
    if (!this.queuedByTenant || now - this.queuedByTenant.atMs > 250) {
      const counts = new Map<string, number>();
      for (const t of this.tasks.queue.values()) {
        const k = (t as { tenant?: string }).tenant ?? 'default';
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      this.queuedByTenant = { atMs: now, counts };
    }
    return this.queuedByTenant.counts.get(tenant) ?? 0;
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
