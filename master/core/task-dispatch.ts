/**
 * One dispatch round of TaskService (internal to the core, called only from
 * task-service.ts): each scheduler match becomes a new attempt (lease, run
 * deadline, token, `task.assigned`) and an assignment, sent per worker in
 * messages of at most MAX_ASSIGNMENTS_PER_MESSAGE.
 */
import type { Clock } from '../../common/clock.js';
import type { ResultTokens } from '../../common/result-token.js';
import type { ControlCommand, TaskAssignment } from '../../common/wire.js';
import type { WorkerRecord } from '../scheduling/worker-registry.js';
import type { TaskStore } from '../store/task-store.js';
import type { Deadlines } from './deadlines.js';
import type { TaskEvents } from './task-events.js';
import { type TaskRecord, transition } from './task-record.js';

export const MAX_ASSIGNMENTS_PER_MESSAGE = 256;
/**
 * Assignments per dispatch round; the next round runs on the next turn of the
 * event loop. Small rounds keep master and workers busy at the same time
 * (pipelining) instead of taking turns on one huge batch.
 */
export const MAX_ASSIGNMENTS_PER_ROUND = 256;

export interface AssignmentSink {
  publishAssignments(workerId: string, tasks: TaskAssignment[]): void;
  publishControl(workerId: string, command: ControlCommand): void;
}

/** What a dispatch round needs of TaskService (its public surface). */
export interface DispatchHost {
  readonly clock: Clock;
  readonly store: TaskStore;
  readonly tokens: ResultTokens;
  readonly events: TaskEvents;
  readonly deadlines: Deadlines;
  readonly options: { readonly heartbeatIntervalMs: number };
  renewLease(task: TaskRecord, now: number): void;
  kick(): void;
}

export function dispatchRound(host: DispatchHost, sink: AssignmentSink, matches: Iterable<{ task: TaskRecord; worker: WorkerRecord }>): void {
  const batches = new Map<string, TaskAssignment[]>();
  const now = host.clock.now();
  let n = 0;
  for (const { task, worker } of matches) {
    task.attempt += 1;
    task.workerId = worker.id;
    task.workerLanguage = worker.status.language || null;
    task.assignedAtMs = now;
    task.startedAtMs = null;
    task.firstChunkAtMs = null;
    task.lastSeq = 0;
    host.renewLease(task, now);
    host.deadlines.add({ atMs: now + task.timeoutMs, taskId: task.id, kind: 'run', attempt: task.attempt });
    transition(task, 'assigned', now);
    host.store.put(task, 'state');
    let batch = batches.get(worker.id);
    if (!batch) batches.set(worker.id, (batch = []));
    batch.push({
      task_id: task.id,
      attempt: task.attempt,
      kind: task.kind,
      input: task.input,
      result_token: (task.token = host.tokens.issue(task.id, task.attempt, worker.id)),
      deadline_ms: now + task.timeoutMs,
      priority: task.priority,
      enqueued_at_ms: task.createdAtMs,
      // At least three heartbeats fit in the task's heartbeat timeout.
      heartbeat_interval_ms: Math.max(50, Math.min(host.options.heartbeatIntervalMs, Math.floor(task.heartbeatTimeoutMs / 3))),
      secret_names: task.secrets ? Object.keys(task.secrets) : [],
      stream: task.stream,
    });
    if (host.events.wants('task.assigned')) {
      host.events.publish('task.assigned', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, owner: task.owner, worker_id: worker.id }, task);
    }
    if (++n >= MAX_ASSIGNMENTS_PER_ROUND) {
      host.kick(); // more next turn
      break;
    }
  }
  for (const [workerId, tasks] of batches) {
    for (let i = 0; i < tasks.length; i += MAX_ASSIGNMENTS_PER_MESSAGE) {
      sink.publishAssignments(workerId, tasks.slice(i, i + MAX_ASSIGNMENTS_PER_MESSAGE));
    }
  }
}
