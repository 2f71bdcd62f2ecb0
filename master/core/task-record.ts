/**
 * A task as the master holds it, its state machine and its public view.
 */
import { ConflictError } from '../../common/errors.js';
import type { JsonValue } from '../../common/json-value.js';
import type { Requirement } from '../../common/task-kinds.js';
import type { TaskErrorView, TaskStatus, TaskUsageView, TaskView } from '../../common/task-view.js';
import type { SchedulableTask } from '../scheduling/scheduler.js';

export interface HistoryEntry {
  status: TaskStatus;
  atMs: number;
  reason?: string;
  attempt?: number;
  workerId?: string;
}

export interface TaskRecord extends SchedulableTask {
  readonly id: string;
  readonly kind: string;
  readonly input: JsonValue;
  readonly priority: number;
  readonly requirement: Requirement;
  readonly key: string;
  /** Who may see it: its submitter's tenant (`default` before tenancy and without keys). */
  readonly tenant: string;
  /** The submitting principal's id (key id, `local`), or null. */
  readonly owner: string | null;
  seq: number;
  status: TaskStatus;
  attempt: number;
  workerId: string | null;
  workerLanguage: string | null;
  sessionId: string | null;
  /** Someone watches partial output (a chat session, a streaming API call). */
  stream: boolean;
  idempotencyKey: string | null;
  createdAtMs: number;
  assignedAtMs: number | null;
  startedAtMs: number | null;
  finishedAtMs: number | null;
  firstChunkAtMs: number | null;
  lastSeq: number;
  result: JsonValue | null;
  error: TaskErrorView | null;
  usage: TaskUsageView | null;
  /** The attempt whose worker reported `usage` (memory only): the usage ledger bills each attempt what it reported. */
  usageAttempt?: number;
  /** The input's JSON size in bytes, measured at submit (memory only; the usage ledger's `bytes_in`, absent after a restart). */
  inputBytes?: number;
  /** The CPU time (µs) and memory × time (MiB·ms) the worker of `attempt` reported (memory only; the usage ledger's `cpu_us`, `mem_mib_ms`). */
  resources?: { attempt: number; cpuUs: number; memMibMs: number };
  /** Run time allowed per attempt. */
  timeoutMs: number;
  /** Longest time in the queue before the task expires (0 = no limit). */
  queueTimeoutMs: number;
  /** Longest silence (no STARTED, chunk or HEARTBEAT) before an attempt is lost. */
  heartbeatTimeoutMs: number;
  maxAttempts: number;
  /** The current attempt's lease; renewed by every event from its worker. */
  leaseUntilMs: number | null;
  cancelRequested: boolean;
  history: HistoryEntry[];
  /** Never persisted, never on MQTT: released over gRPC to the attempt's worker. */
  secrets: Record<string, string> | null;
  /** The current attempt's result token (memory only; recomputable from the key). */
  token?: string;
}

/** The tenant of tasks from before tenancy and of callers without one. */
export const DEFAULT_TENANT = 'default';

/** The fields that change over a task's life (the rest is fixed at submit). */
export type TaskStateField =
  | 'status' | 'attempt' | 'workerId' | 'workerLanguage' | 'assignedAtMs' | 'startedAtMs' | 'finishedAtMs'
  | 'firstChunkAtMs' | 'lastSeq' | 'result' | 'error' | 'usage' | 'cancelRequested' | 'history';

/** The changing fields of a task as submitted: queued, no attempt yet. */
export function initialState(createdAtMs: number): Pick<TaskRecord, TaskStateField> {
  return {
    status: 'queued',
    attempt: 0,
    workerId: null,
    workerLanguage: null,
    assignedAtMs: null,
    startedAtMs: null,
    finishedAtMs: null,
    firstChunkAtMs: null,
    lastSeq: 0,
    result: null,
    error: null,
    usage: null,
    cancelRequested: false,
    history: [{ status: 'queued', atMs: createdAtMs }],
  };
}

/** Still as submitted (see initialState). */
export function isInitialState(t: TaskRecord): boolean {
  return t.status === 'queued' && t.attempt === 0 && t.history.length === 1 && !t.cancelRequested;
}

/** Allowed transitions; anything else is a bug or a stale message. */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  queued: ['assigned', 'cancelled', 'expired', 'failed'],
  assigned: ['running', 'queued', 'succeeded', 'failed', 'cancelled', 'expired'],
  running: ['queued', 'succeeded', 'failed', 'cancelled', 'expired'],
  succeeded: [],
  failed: [],
  cancelled: [],
  expired: [],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function transition(task: TaskRecord, to: TaskStatus, atMs: number, reason?: string): void {
  if (!canTransition(task.status, to)) {
    throw new ConflictError(`task ${task.id}: cannot go from ${task.status} to ${to}`);
  }
  task.status = to;
  const entry: HistoryEntry = { status: to, atMs };
  if (reason) entry.reason = reason;
  if (to === 'assigned' || to === 'running') {
    entry.attempt = task.attempt;
    if (task.workerId) entry.workerId = task.workerId;
  }
  task.history.push(entry);
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function taskView(t: TaskRecord): TaskView {
  const end = t.finishedAtMs;
  return {
    id: t.id,
    kind: t.kind,
    status: t.status,
    priority: t.priority,
    attempt: t.attempt,
    worker_id: t.workerId,
    worker_language: t.workerLanguage,
    created_at: new Date(t.createdAtMs).toISOString(),
    finished_at: iso(end),
    result: t.result,
    error: t.error,
    timings: {
      queue_wait_ms: t.startedAtMs !== null ? t.startedAtMs - t.createdAtMs : t.assignedAtMs !== null ? t.assignedAtMs - t.createdAtMs : null,
      processing_ms: t.startedAtMs !== null && end !== null ? end - t.startedAtMs : null,
      total_ms: end !== null ? end - t.createdAtMs : null,
      ttft_ms: t.firstChunkAtMs !== null && t.startedAtMs !== null ? t.firstChunkAtMs - t.startedAtMs : null,
    },
    usage: t.usage,
    history: t.history.map((h) => {
      const e: TaskView['history'][number] = { status: h.status, at: new Date(h.atMs).toISOString() };
      if (h.reason) e.reason = h.reason;
      if (h.attempt !== undefined) e.attempt = h.attempt;
      if (h.workerId) e.worker_id = h.workerId;
      return e;
    }),
  };
}
