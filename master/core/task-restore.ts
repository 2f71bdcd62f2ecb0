/**
 * Restore after a master restart and adoption of restored attempts (internal
 * to the core, called only from task-service.ts): queued tasks go back to the
 * queue, assigned or running attempts get a fresh lease and are counted
 * against their worker's capacity once it is (re)registered.
 */
import type { Clock } from '../../common/clock.js';
import type { Capacity } from '../scheduling/capacity.js';
import type { WorkerRecord, WorkerRegistry } from '../scheduling/worker-registry.js';
import type { TaskStore } from '../store/task-store.js';
import type { AttemptTimers } from './attempt-timers.js';
import type { Deadlines } from './deadlines.js';
import type { TaskRecord } from './task-record.js';

/** Least lease given to an attempt restored after a master restart. */
export const RESTORE_GRACE_MS = 10_000;

/** What restoring needs of TaskService (its public surface). */
export interface TaskRestoreHost {
  readonly clock: Clock;
  readonly store: TaskStore;
  readonly registry: WorkerRegistry;
  readonly capacity: Capacity;
  readonly deadlines: Deadlines;
  enqueue(task: TaskRecord): void;
}

export class TaskRestore {
  /** Worker id -> restored attempts it held, until it (re)appears. */
  private readonly adopted = new Map<string, Set<string>>();

  constructor(
    private readonly host: TaskRestoreHost,
    private readonly timers: Pick<AttemptTimers, 'scheduleLeaseCheck'>,
  ) {}

  /**
   * Re-queues what was queued and gives attempts that were assigned or
   * running a fresh lease, so their workers can keep going (results carry
   * tokens that still verify) or lose them to the lease.
   */
  restore(tasks: TaskRecord[]): { queued: number; inFlight: number } {
    const host = this.host;
    const now = host.clock.now();
    let queued = 0;
    let inFlight = 0;
    for (const t of tasks) {
      t.cancelRequested ??= false;
      t.stream ??= t.sessionId !== null;
      if (t.status === 'queued') {
        host.enqueue(t);
        queued++;
      } else if ((t.status === 'assigned' || t.status === 'running') && t.workerId) {
        inFlight++;
        t.leaseUntilMs = null;
        // Give the worker time to reconnect to the new master first (gRPC backoff, broker reconnect).
        t.leaseUntilMs = now + Math.max(t.heartbeatTimeoutMs, RESTORE_GRACE_MS);
        this.timers.scheduleLeaseCheck(t);
        if (t.assignedAtMs !== null) host.deadlines.add({ atMs: t.assignedAtMs + t.timeoutMs, taskId: t.id, kind: 'run', attempt: t.attempt });
        let set = this.adopted.get(t.workerId);
        if (!set) this.adopted.set(t.workerId, (set = new Set()));
        set.add(t.id);
        const w = host.registry.get(t.workerId);
        if (w) host.capacity.adopt(w, t.id);
      }
    }
    return { queued, inFlight };
  }

  /** A worker (re)appeared: count the restored attempts it still holds against its capacity. */
  adopt(worker: WorkerRecord): void {
    const ids = this.adopted.get(worker.id);
    if (!ids) return;
    this.adopted.delete(worker.id);
    for (const id of ids) {
      const t = this.host.store.get(id);
      if (t && t.workerId === worker.id && (t.status === 'assigned' || t.status === 'running')) this.host.capacity.adopt(worker, id);
    }
  }
}
