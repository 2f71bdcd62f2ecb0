/**
 * Matches queued tasks to idle workers: a task goes only to an online worker
 * with free capacity that supports its requirement; the highest-priority,
 * oldest task goes first; which eligible worker gets it is the placement
 * strategy's choice (placement/, default least-loaded). Each match reserves
 * the worker's slot through the capacity owner.
 */
import type { Requirement } from '../../common/task-kinds.js';
import type { QueuedTask, TaskQueue } from '../core/task-queue.js';
import { Capacity } from './capacity.js';
import { LeastLoaded } from './placement/least-loaded.js';
import { LoadIndex } from './placement/load-index.js';
import type { PlacementContext, PlacementStrategy } from './placement/placement-strategy.js';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.js';

export interface SchedulableTask extends QueuedTask {
  readonly requirement: Requirement;
  /** Chat session, for `affinity` placement (multi-turn work stays on one worker). */
  readonly sessionId?: string | null;
  /** Its tenant: a worker pinned to tenants takes only theirs (default `default`). */
  readonly tenant?: string;
}

/** The affinity key of a task: its chat session, else its model (models stay warm), else none. */
export function affinityKey(t: SchedulableTask): string | undefined {
  return t.sessionId ?? t.requirement.model ?? undefined;
}

/** Queued tasks looked at per blocked key and dispatch round for tenant-pinned workers. */
export const PINNED_SCAN = 1024;

export interface Match<T> {
  task: T;
  worker: WorkerRecord;
}

export class Scheduler<T extends SchedulableTask> {
  /** One context object reused for every pick (no allocation per task). */
  private readonly ctx: { candidates: readonly WorkerRecord[]; requirement: Requirement; key: string | undefined; tenant: string; eligible: (w: WorkerRecord) => boolean; loads: LoadIndex<WorkerRecord> };
  /** Online workers with a free slot by load, kept current by the capacity owner and the registry's status events. */
  readonly loads = new LoadIndex<WorkerRecord>();

  constructor(
    private readonly queue: TaskQueue<T>,
    private readonly registry: WorkerRegistry,
    readonly capacity: Capacity = new Capacity(),
    readonly placement: PlacementStrategy = new LeastLoaded(),
  ) {
    const ctx = {
      candidates: [] as readonly WorkerRecord[],
      requirement: { kind: '' } as Requirement,
      key: undefined as string | undefined,
      tenant: 'default',
      // A worker pinned to tenants (dedicated) is eligible only for theirs; a shared one for all.
      eligible: (w: WorkerRecord) =>
        w.inFlight.size < w.capacity && !w.suspect && registry.supports(w, ctx.requirement) && (w.tenants === null || w.tenants.has(ctx.tenant)),
      loads: this.loads,
    };
    this.ctx = ctx;
    // In-flight changes come from the capacity owner, capacity changes with a status.
    const touch = (w: WorkerRecord) => this.loads.touch(w);
    capacity.watch(touch);
    registry.on('changed', touch);
    registry.on('online', touch);
  }

  /** The placement strategy's choice among eligible workers (nothing reserved). */
  pickWorker(req: Requirement, key?: string, tenant = 'default'): WorkerRecord | undefined {
    this.ctx.candidates = this.registry.schedulable();
    this.ctx.requirement = req;
    this.ctx.key = key;
    this.ctx.tenant = tenant;
    return this.placement.pick(this.ctx as PlacementContext<WorkerRecord>);
  }

  /**
   * Tenant-pinned workers behind a blocked head: tasks of `key` (in admission
   * order, at most PINNED_SCAN looked at) whose tenant has an idle pinned
   * worker. Only pinned workers can be free here: a shared one would have
   * taken the head. Nothing is scanned while no pinned worker is idle.
   */
  private *pinnedMatches(key: string): Generator<Match<T>> {
    // Without pinned workers (the usual case) nothing is scanned: no per-worker cost per blocked key and round.
    if (!this.registry.hasPinned) return;
    const idle = () => this.registry.schedulable().some((w) => w.tenants !== null && w.inFlight.size < w.capacity && !w.suspect);
    if (!idle()) return;
    let scanned = 0;
    for (const t of this.queue.values()) {
      if (++scanned > PINNED_SCAN) return;
      if (t.key !== key || t.tenant === undefined) continue;
      const worker = this.pickWorker(t.requirement, affinityKey(t), t.tenant);
      if (!worker || !this.capacity.reserve(worker, t.id)) continue;
      this.queue.remove(t.id);
      yield { task: t, worker };
      if (!idle()) return;
    }
  }

  /**
   * Takes matches off the queue until no queued task has an idle capable
   * worker. Each match reserves the worker's slot at once.
   */
  *matches(): Generator<Match<T>> {
    const blocked = new Set<string>();
    for (;;) {
      const head = this.queue.best(blocked);
      if (!head) return;
      const worker = this.pickWorker(head.requirement, affinityKey(head), head.tenant);
      if (!worker || !this.capacity.reserve(worker, head.id)) {
        blocked.add(head.key);
        // No worker for the head's tenant; an idle worker pinned to another tenant may still take that tenant's tasks of this key.
        yield* this.pinnedMatches(head.key);
        continue;
      }
      this.queue.take(head.key);
      yield { task: head, worker };
    }
  }
}
