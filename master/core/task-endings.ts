/**
 * How attempts and tasks end (internal to the core, called only from
 * task-service.ts): an attempt ended by the master (lease, run timeout,
 * cancel grace, a lost worker), retry after a backoff or the dead letter,
 * and a task's final state, announced once it is durable.
 */
import type { Clock } from '../../common/clock.js';
import type { JsonValue } from '../../common/json-value.js';
import type { Logger } from '../../common/logger.js';
import { TERMINAL_STATUSES, type TaskStatus } from '../../common/task-view.js';
import type { Capacity, ReleaseReason } from '../scheduling/capacity.js';
import type { WorkerRecord, WorkerRegistry } from '../scheduling/worker-registry.js';
import type { TaskStore } from '../store/task-store.js';
import type { AttemptTimers } from './attempt-timers.js';
import type { AssignmentSink } from './task-dispatch.js';
import { finalFields, type FinalEventType, type TaskEvents } from './task-events.js';
import { type TaskRecord, transition } from './task-record.js';

const FINAL_EVENT: Record<string, FinalEventType> = {
  succeeded: 'task.succeeded',
  failed: 'task.failed',
  cancelled: 'task.cancelled',
  expired: 'task.expired',
};

/** Why the master ended an attempt -> why its slot is released. */
const RELEASE_BY_CODE: Record<string, ReleaseReason> = { HEARTBEAT_TIMEOUT: 'lost', RUN_TIMEOUT: 'timed_out', CANCELLED: 'cancelled' };

/** What the endings need of TaskService. */
export interface TaskEndingsHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly store: TaskStore;
  readonly registry: WorkerRegistry;
  readonly capacity: Capacity;
  readonly events: TaskEvents;
  readonly timers: Pick<AttemptTimers, 'endAttemptTimers' | 'scheduleRetry' | 'forget'>;
  readonly counters: { succeeded: number; failed: number; cancelled: number; expired: number; retried: number };
  sink(): AssignmentSink | undefined;
  kick(): void;
}

export class TaskEndings {
  constructor(private readonly host: TaskEndingsHost) {}

  /**
   * Ends the current attempt from the master's side (lease, run timeout,
   * worker lost): frees the worker, tells it to stop, then retries or dead-letters.
   */
  endAttempt(task: TaskRecord, code: string, reason: string): void {
    const h = this.host;
    const workerId = task.workerId;
    if (workerId) {
      h.capacity.release(h.registry.get(workerId), task.id, RELEASE_BY_CODE[code] ?? 'lost');
      h.sink()?.publishControl(workerId, { action: 'CONTROL_ACTION_CANCEL', task_id: task.id, attempt: task.attempt, reason });
    }
    this.retryOrDeadLetter(task, code, reason, 'expired');
    h.kick();
  }

  /** After a failed attempt: back to the queue after a backoff, or final. */
  retryOrDeadLetter(task: TaskRecord, code: string, reason: string, finalStatus: 'failed' | 'expired'): void {
    const h = this.host;
    task.leaseUntilMs = null;
    if (task.cancelRequested) {
      this.finish(task, 'cancelled', { error: { code: 'CANCELLED', message: reason } });
      return;
    }
    if (task.attempt >= task.maxAttempts) {
      this.finish(task, finalStatus, { error: { code, message: `${reason}; ${task.attempt} of ${task.maxAttempts} attempts used` } });
      return;
    }
    const delay = h.timers.endAttemptTimers(task);
    h.counters.retried++;
    transition(task, 'queued', h.clock.now(), `${reason}; retry in ${delay} ms`);
    task.workerId = null;
    h.store.put(task);
    h.timers.scheduleRetry(task, delay);
    if (h.events.wants('task.retried')) h.events.publish('task.retried', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, owner: task.owner, code, reason, delay_ms: delay }, task);
  }

  finish(task: TaskRecord, status: TaskStatus, out: { result?: JsonValue | null; error?: { code: string; message: string } }): void {
    const h = this.host;
    const now = h.clock.now();
    task.finishedAtMs = now;
    task.result = out.result ?? null;
    task.error = out.error ?? null;
    task.secrets = null;
    task.leaseUntilMs = null;
    transition(task, status, now, out.error?.message);
    h.timers.forget(task.id);
    if (status === 'succeeded') h.counters.succeeded++;
    else if (status === 'cancelled') h.counters.cancelled++;
    else if (status === 'expired') h.counters.expired++;
    else h.counters.failed++;
    h.store.put(task);
    // Announce a final state only once it is durable: a result a user has
    // seen is never lost and never re-run after a master crash.
    const type = FINAL_EVENT[status]!;
    if (h.events.wants(type)) {
      const body = finalFields(task);
      h.store.afterCommit(() => h.events.publish(type, body, task));
    }
  }

  /** Tasks a lost worker held go back to the queue (or are dead-lettered when out of attempts). */
  workerLost(worker: WorkerRecord, reason: string, wasDraining = false): void {
    const h = this.host;
    const ids = h.capacity.releaseAll(worker, wasDraining ? 'drained' : 'lost');
    for (const id of ids) {
      const task = h.store.get(id);
      if (!task || TERMINAL_STATUSES.has(task.status) || task.workerId !== worker.id) continue;
      this.retryOrDeadLetter(task, 'WORKER_LOST', `worker ${worker.id} lost (${reason})`, 'expired');
    }
    if (ids.length > 0) h.log.warn({ worker_id: worker.id, tasks: ids.length }, `worker lost (${reason}); its tasks were re-queued`);
    if (h.events.wants('worker.offline')) h.events.publish('worker.offline', { worker_id: worker.id, reason }, worker);
    h.kick();
  }
}
