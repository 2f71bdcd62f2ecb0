/**
 * Lease and deadline handling of TaskService (internal to the core, called
 * only from task-service.ts): lease renewal and checks, what a due queue /
 * retry / lease / run / cancel deadline does, and retry backoff scheduling.
 * It changes tasks only through the host (finish, endAttempt, the queue).
 */
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import { type Deadline, type DeadlineKind, Deadlines, backoffMs } from './deadlines.js';
import type { TaskEvents } from './task-events.js';
import type { TaskQueue } from './task-queue.js';
import type { TaskRecord } from './task-record.js';
import type { TaskStore } from '../store/task-store.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';

/** Deadlines of one attempt (the queue deadline belongs to the task). */
const ATTEMPT_DEADLINES: readonly DeadlineKind[] = ['run', 'lease', 'cancel'];

/** What the timers need of TaskService (its public surface). */
export interface AttemptTimersHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly store: TaskStore;
  readonly registry: WorkerRegistry;
  readonly queue: TaskQueue<TaskRecord>;
  readonly events: TaskEvents;
  readonly options: { readonly cancelGraceMs: number; readonly retryBaseMs: number; readonly retryMaxMs: number };
  kick(): void;
  finish(task: TaskRecord, status: 'expired', out: { error: { code: string; message: string } }): void;
  endAttempt(task: TaskRecord, code: string, reason: string): void;
}

export class AttemptTimers {
  readonly deadlines: Deadlines;
  /** Task id -> the attempt with a lease check pending: one at a time keeps the heap small. */
  private readonly leaseChecks = new Map<string, number>();

  constructor(private readonly host: AttemptTimersHost) {
    this.deadlines = new Deadlines(host.clock, (d) => this.onDeadline(d));
  }

  /** Extends the current attempt's lease (assignment, STARTED, chunks, HEARTBEAT). */
  renewLease(task: TaskRecord, now: number): void {
    task.leaseUntilMs = now + task.heartbeatTimeoutMs;
    this.scheduleLeaseCheck(task);
  }

  /**
   * Makes sure a lease check is pending for the current attempt. A check that
   * finds the lease renewed re-arms itself at the lease's new end, so however
   * small and frequent the renewals, silence is always noticed.
   */
  scheduleLeaseCheck(task: TaskRecord): void {
    if (task.leaseUntilMs === null) return;
    if (this.leaseChecks.get(task.id) === task.attempt) return;
    this.leaseChecks.set(task.id, task.attempt);
    this.deadlines.add({ atMs: task.leaseUntilMs, taskId: task.id, kind: 'lease', attempt: task.attempt });
  }

  /** The ended attempt's run, lease and cancel deadlines can no longer apply; returns the backoff before its retry. */
  endAttemptTimers(task: TaskRecord): number {
    this.deadlines.clear(task.id, ATTEMPT_DEADLINES);
    this.leaseChecks.delete(task.id);
    return backoffMs(task.attempt, this.host.options.retryBaseMs, this.host.options.retryMaxMs);
  }

  /** Re-queues the task once its backoff is over. */
  scheduleRetry(task: TaskRecord, delayMs: number): void {
    this.deadlines.add({ atMs: this.host.clock.now() + delayMs, taskId: task.id, kind: 'retry', attempt: task.attempt });
  }

  /** A finished task: none of its deadlines apply any more. */
  forget(taskId: string): void {
    this.deadlines.clear(taskId);
    this.leaseChecks.delete(taskId);
  }

  private onDeadline(d: Deadline): void {
    const host = this.host;
    if (d.kind === 'lease' && this.leaseChecks.get(d.taskId) === d.attempt) this.leaseChecks.delete(d.taskId);
    const task = host.store.get(d.taskId);
    if (!task || TERMINAL_STATUSES.has(task.status)) return;
    const now = host.clock.now();
    switch (d.kind) {
      case 'queue':
        if (task.status === 'queued' && host.queue.has(task.id)) {
          host.queue.remove(task.id);
          host.finish(task, 'expired', { error: { code: 'QUEUE_TIMEOUT', message: `no worker took it within ${task.queueTimeoutMs} ms (queue timeout)` } });
        }
        return;
      case 'retry':
        if (task.status === 'queued' && task.attempt === d.attempt && !host.queue.has(task.id)) {
          host.queue.push(task);
          host.kick();
        }
        return;
      default:
        break;
    }
    if (task.attempt !== d.attempt || (task.status !== 'assigned' && task.status !== 'running')) return;
    if (d.kind === 'lease') {
      if (task.leaseUntilMs === null) return;
      if (task.leaseUntilMs > now) return this.scheduleLeaseCheck(task); // renewed since: check again at its new end
      const worker = task.workerId ? host.registry.get(task.workerId) : undefined;
      if (worker && !worker.suspect) {
        worker.suspect = true;
        host.log.warn({ worker_id: worker.id }, `worker ${worker.id} missed heartbeats: no new work until it is heard from`);
        if (host.events.wants('worker.suspect')) host.events.publish('worker.suspect', { worker_id: worker.id, reason: `missed heartbeats of task ${task.id}` }, worker);
      }
      host.endAttempt(task, 'HEARTBEAT_TIMEOUT', `attempt ${task.attempt} lost: no heartbeat from ${task.workerId} for ${task.heartbeatTimeoutMs} ms`);
    } else if (d.kind === 'run') {
      host.endAttempt(task, 'RUN_TIMEOUT', `attempt ${task.attempt} exceeded the run timeout of ${task.timeoutMs} ms`);
    } else if (d.kind === 'cancel') {
      host.endAttempt(task, 'CANCELLED', `worker ${task.workerId} did not confirm the cancel within ${host.options.cancelGraceMs} ms`);
    }
  }
}
