/**
 * Applying what the result intake accepted (internal to the core, called only
 * from TaskService.applyResult): the lease, STARTED, a chunk, or the final
 * outcome (finished, or retried / dead-lettered when retryable).
 */
import type { Clock } from '../../common/clock.js';
import type { JsonValue } from '../../common/json-value.js';
import type { Capacity } from '../scheduling/capacity.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';
import type { ResultOutcome } from './result-outcome.js';
import type { TaskEvents } from './task-events.js';
import type { TaskRecord } from './task-record.js';

/** What applying an outcome needs of TaskService (its public surface). */
export interface ResultApplyHost {
  readonly clock: Clock;
  readonly registry: WorkerRegistry;
  readonly events: TaskEvents;
  readonly capacity: Capacity;
  renewLease(task: TaskRecord, now: number): void;
  markRunning(task: TaskRecord, startedAtMs: number): void;
  finish(task: TaskRecord, status: 'succeeded' | 'failed' | 'cancelled', out: { result?: JsonValue | null; error?: { code: string; message: string } }): void;
  retryOrDeadLetter(task: TaskRecord, code: string, reason: string, finalStatus: 'failed' | 'expired'): void;
  kick(): void;
}

export function applyOutcome(host: ResultApplyHost, o: ResultOutcome): void {
  const task = o.task;
  const now = host.clock.now();
  host.registry.heardFrom(o.workerId, now);
  switch (o.type) {
    case 'heartbeat':
      host.renewLease(task, now);
      return;
    case 'started':
      host.renewLease(task, now);
      host.markRunning(task, o.startedAtMs);
      return;
    case 'chunk':
      host.renewLease(task, now);
      task.lastSeq = o.seq;
      if (task.status === 'assigned') host.markRunning(task, now);
      if (task.firstChunkAtMs === null) task.firstChunkAtMs = now;
      if (host.events.wants('task.chunk')) host.events.publish('task.chunk', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, owner: task.owner, chunk_seq: o.seq, text: o.text, data: o.data }, task);
      return;
    case 'final':
      break;
  }
  if (task.startedAtMs === null) task.startedAtMs = Math.min(o.startedAtMs ?? now, now);
  if (o.usage) {
    task.usage = o.usage;
    task.usageAttempt = task.attempt;
  }
  if (o.cpuUs > 0 || o.memMibMs > 0) task.resources = { attempt: task.attempt, cpuUs: o.cpuUs, memMibMs: o.memMibMs };
  host.capacity.release(task.workerId ? host.registry.get(task.workerId) : undefined, task.id, o.outcome === 'cancelled' ? 'cancelled' : 'finished');
  if (o.outcome === 'succeeded') host.finish(task, 'succeeded', { result: o.result });
  else if (o.outcome === 'cancelled') host.finish(task, 'cancelled', { error: o.error ?? { code: 'CANCELLED', message: 'cancelled' } });
  else {
    const error = o.error ?? { code: 'FAILED', message: 'failed' };
    if (o.retryable) host.retryOrDeadLetter(task, error.code, `attempt ${task.attempt} failed: ${error.code}: ${error.message}`, 'failed');
    else host.finish(task, 'failed', { error });
  }
  host.kick();
}
