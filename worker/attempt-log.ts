/**
 * One info line when an attempt starts and one when it ends, with its task id
 * (the `task_id` field: common/logger.ts ships it on `{root}/logs/{worker id}`
 * and the master keeps the line with the task, `GET /api/v1/logs?task=ID`).
 * Only the message and the task id travel on MQTT, never the other fields of
 * the call, so what a task's page must show is in the message too, as
 * `key=value` words: kind, attempt, model; outcome, error code, duration.
 * None of them can hold a secret (no input, no error message).
 *
 * Cheap by design: nothing is built when info is off (`TASKWIRE_LOG_LEVEL=warn`,
 * as the benchmarks run), and no child logger is made per attempt.
 */
import type { Logger } from '../common/logger.js';
import { kindSpec } from '../common/task-kinds.js';
import type { TaskAssignment__Output } from '../common/wire.js';
import type { TaskResult } from '../common/gen/taskwire/v1/TaskResult.js';

/**
 * How an attempt ended, as this worker knows it. `timeout`: it ran past its
 * deadline, found by this worker's sweep (DEADLINE_EXCEEDED) or by the master
 * first, whose run timeout arrives as a CANCEL at the same deadline.
 */
export type AttemptLogOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timeout';

/** A handler's error code is its own string: cut so a line stays a line. */
const MAX_CODE_CHARS = 64;

export function attemptOutcome(a: TaskAssignment__Output, result: TaskResult): AttemptLogOutcome {
  if (result.outcome === 'TASK_OUTCOME_SUCCEEDED') return 'succeeded';
  if (result.error?.code === 'DEADLINE_EXCEEDED') return 'timeout';
  if (result.outcome === 'TASK_OUTCOME_CANCELLED') {
    const deadline = Number(a.deadline_ms);
    return deadline > 0 && Number(result.finished_at_ms) >= deadline ? 'timeout' : 'cancelled';
  }
  return 'failed';
}

/** Whether the start/end lines are written at all (read once per attempt). */
export function attemptLogOn(log: Logger): boolean {
  return log.isLevelEnabled('info');
}

export function logAttemptStarted(log: Logger, a: TaskAssignment__Output): void {
  const model = kindSpec(a.kind)?.model?.(a.input ?? null);
  log.info(
    model ? { task_id: a.task_id, kind: a.kind, attempt: a.attempt, model } : { task_id: a.task_id, kind: a.kind, attempt: a.attempt },
    `task started: kind=${a.kind} attempt=${a.attempt}${model ? ` model=${model}` : ''}`,
  );
}

export function logAttemptEnded(log: Logger, a: TaskAssignment__Output, result: TaskResult, durationMs: number): void {
  const outcome = attemptOutcome(a, result);
  const code = outcome === 'succeeded' ? undefined : (result.error?.code || 'UNKNOWN').slice(0, MAX_CODE_CHARS);
  log.info(
    { task_id: a.task_id, kind: a.kind, attempt: a.attempt, outcome, ...(code && { code }), duration_ms: durationMs },
    `task ended: outcome=${outcome}${code ? ` code=${code}` : ''} kind=${a.kind} attempt=${a.attempt} duration_ms=${durationMs}`,
  );
}
