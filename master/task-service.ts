/**
 * The task lifecycle: admission, assignment, results, retries, cancel.
 * Everything that changes a task goes through here; transport edges (REST,
 * Socket.IO, gRPC, MQTT) call in and listen to its typed events.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Clock } from '../common/clock.js';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../common/errors.js';
import { type JsonValue, fromValue, toValue } from '../common/json-value.js';
import type { Logger } from '../common/logger.js';
import type { ResultTokens } from '../common/result-token.js';
import { requirementKey, validateTaskInput } from '../common/task-kinds.js';
import { TERMINAL_STATUSES, type TaskStatus } from '../common/task-view.js';
import type { ControlCommand, TaskAssignment } from '../common/wire.js';
import type { ResultEvent__Output } from '../common/gen/taskwire/v1/ResultEvent.js';
import type { TaskResult__Output } from '../common/gen/taskwire/v1/TaskResult.js';
import { Scheduler } from './scheduler.js';
import { TaskQueue } from './task-queue.js';
import { type TaskRecord, transition } from './task-record.js';
import type { TaskStore } from './task-store.js';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.js';

export const KIND_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 9;
const MAX_ASSIGNMENTS_PER_MESSAGE = 256;

export interface SubmitRequest {
  kind: string;
  input: JsonValue;
  priority?: number;
  idempotencyKey?: string;
  sessionId?: string;
  secrets?: Record<string, string>;
  timeoutMs?: number;
}

export interface AssignmentSink {
  publishAssignments(workerId: string, tasks: TaskAssignment[]): void;
  publishControl(workerId: string, command: ControlCommand): void;
}

export interface TaskChunk {
  seq: number;
  text: string;
  data: JsonValue | null;
}

export interface TaskServiceEvents {
  update: [task: TaskRecord];
  chunk: [task: TaskRecord, chunk: TaskChunk];
  done: [task: TaskRecord];
  rejected: [reason: string, event: { task_id: string; attempt: number; worker_id: string }];
}

export type Disposition = 'DISPOSITION_ACCEPTED' | 'DISPOSITION_DUPLICATE' | 'DISPOSITION_REJECTED';
export interface EventOutcome {
  disposition: Disposition;
  reason: string;
}

export interface TaskServiceOptions {
  maxAttempts: number;
  taskTimeoutMs: number;
  maxInputBytes: number;
  heartbeatIntervalMs: number;
}

export class TaskService extends EventEmitter<TaskServiceEvents> {
  readonly queue = new TaskQueue<TaskRecord>();
  private readonly scheduler: Scheduler<TaskRecord>;
  private seq = 0;
  private dispatchScheduled = false;
  private sink: AssignmentSink | undefined;
  readonly counters = { submitted: 0, succeeded: 0, failed: 0, cancelled: 0, rejectedResults: 0, retried: 0 };

  constructor(
    private readonly store: TaskStore,
    private readonly registry: WorkerRegistry,
    private readonly tokens: ResultTokens,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: TaskServiceOptions,
  ) {
    super();
    this.scheduler = new Scheduler(this.queue, registry);
    registry.on('online', () => this.kick());
    registry.on('changed', () => this.kick());
    registry.on('offline', (w, reason) => this.workerLost(w, reason));
  }

  attachSink(sink: AssignmentSink): void {
    this.sink = sink;
    this.kick();
  }

  get(id: string): TaskRecord | undefined {
    return this.store.get(id);
  }

  require(id: string): TaskRecord {
    const t = this.store.get(id);
    if (!t) throw new NotFoundError(`task ${id} not found`);
    return t;
  }

  list(filter: { status?: string; limit: number }): TaskRecord[] {
    return this.store.list(filter);
  }

  /** Kinds a task may be submitted for now: built-in and served by some worker. */
  submit(req: SubmitRequest): { task: TaskRecord; created: boolean } {
    if (!KIND_PATTERN.test(req.kind)) throw new ValidationError('kind', `"${String(req.kind).slice(0, 64)}" is not a valid kind`);
    const priority = req.priority ?? 0;
    if (!Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX) {
      throw new ValidationError('priority', `must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`);
    }
    if (req.idempotencyKey !== undefined) {
      const existing = this.store.byIdempotencyKey(req.idempotencyKey);
      if (existing) return { task: existing, created: false };
    }
    const size = Buffer.byteLength(JSON.stringify(req.input ?? null));
    if (size > this.options.maxInputBytes) throw new PayloadTooLargeError('input', size, this.options.maxInputBytes);
    const served = this.registry.kinds();
    const { input, requirement } = validateTaskInput(req.kind, req.input);
    if (!served.includes(req.kind) && !['echo', 'sleep'].includes(req.kind)) {
      throw new ValidationError('kind', `no worker serves kind "${req.kind}" (served now: ${served.join(', ') || 'none'})`);
    }
    const now = this.clock.now();
    const task: TaskRecord = {
      id: randomUUID(),
      kind: req.kind,
      input,
      priority,
      requirement,
      key: requirementKey(requirement),
      seq: ++this.seq,
      status: 'queued',
      attempt: 0,
      workerId: null,
      workerLanguage: null,
      sessionId: req.sessionId ?? null,
      idempotencyKey: req.idempotencyKey ?? null,
      createdAtMs: now,
      assignedAtMs: null,
      startedAtMs: null,
      finishedAtMs: null,
      firstChunkAtMs: null,
      lastSeq: 0,
      result: null,
      error: null,
      usage: null,
      timeoutMs: req.timeoutMs ?? this.options.taskTimeoutMs,
      history: [{ status: 'queued', atMs: now }],
      secrets: req.secrets ?? null,
    };
    this.store.put(task);
    this.counters.submitted++;
    this.queue.push(task);
    this.kick();
    return { task, created: true };
  }

  cancel(id: string, reason = 'cancelled by user'): TaskRecord {
    const task = this.require(id);
    if (TERMINAL_STATUSES.has(task.status)) return task;
    if (task.status === 'queued') {
      this.queue.remove(task.id);
      this.finish(task, 'cancelled', { error: { code: 'CANCELLED', message: reason } });
      return task;
    }
    // assigned / running: ask the worker; its CANCELLED result ends the task.
    if (task.workerId) {
      this.sink?.publishControl(task.workerId, {
        action: 'CONTROL_ACTION_CANCEL',
        task_id: task.id,
        attempt: task.attempt,
        reason,
      });
    }
    return task;
  }

  /** Schedules a dispatch round (coalesced to one per event-loop turn). */
  kick(): void {
    if (this.dispatchScheduled || !this.sink) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    const sink = this.sink;
    if (!sink) return;
    const batches = new Map<string, TaskAssignment[]>();
    const now = this.clock.now();
    for (const { task, worker } of this.scheduler.matches()) {
      task.attempt += 1;
      task.workerId = worker.id;
      task.workerLanguage = worker.status.language || null;
      task.assignedAtMs = now;
      task.startedAtMs = null;
      task.firstChunkAtMs = null;
      task.lastSeq = 0;
      transition(task, 'assigned', now);
      this.store.put(task);
      let batch = batches.get(worker.id);
      if (!batch) batches.set(worker.id, (batch = []));
      batch.push({
        task_id: task.id,
        attempt: task.attempt,
        kind: task.kind,
        input: toValue(task.input),
        result_token: this.tokens.issue(task.id, task.attempt, worker.id),
        deadline_ms: now + task.timeoutMs,
        priority: task.priority,
        enqueued_at_ms: task.createdAtMs,
        heartbeat_interval_ms: this.options.heartbeatIntervalMs,
        secret_names: task.secrets ? Object.keys(task.secrets) : [],
      });
      if (task.sessionId) this.emit('update', task);
    }
    for (const [workerId, tasks] of batches) {
      for (let i = 0; i < tasks.length; i += MAX_ASSIGNMENTS_PER_MESSAGE) {
        sink.publishAssignments(workerId, tasks.slice(i, i + MAX_ASSIGNMENTS_PER_MESSAGE));
      }
    }
  }

  /** Verifies token and fencing; returns the task if the event belongs to its current attempt. */
  private fence(ev: { task_id: string; attempt: number; worker_id: string; result_token: string }):
    | { task: TaskRecord }
    | EventOutcome {
    if (!this.tokens.verify(ev.result_token, ev.task_id, ev.attempt, ev.worker_id)) {
      return this.reject('invalid result token', ev);
    }
    const task = this.store.get(ev.task_id);
    if (!task) return this.reject('unknown task', ev);
    if (task.attempt !== ev.attempt || task.workerId !== ev.worker_id) {
      return this.reject(`superseded attempt ${ev.attempt} (current ${task.attempt})`, ev);
    }
    return { task };
  }

  private reject(reason: string, ev: { task_id: string; attempt: number; worker_id: string }): EventOutcome {
    this.counters.rejectedResults++;
    this.log.warn({ task_id: ev.task_id, attempt: ev.attempt, worker_id: ev.worker_id }, `result rejected: ${reason}`);
    this.emit('rejected', reason, ev);
    return { disposition: 'DISPOSITION_REJECTED', reason };
  }

  /** One event from ResultService.StreamResults. */
  handleEvent(ev: ResultEvent__Output): EventOutcome {
    if (ev.event === 'final') {
      if (!ev.final) return this.reject('final event without a result', ev);
      return this.handleFinal({ ...ev.final, task_id: ev.task_id, attempt: ev.attempt, worker_id: ev.worker_id, result_token: ev.result_token });
    }
    const fenced = this.fence(ev);
    if (!('task' in fenced)) return fenced;
    const { task } = fenced;
    if (TERMINAL_STATUSES.has(task.status)) return this.reject(`task already ${task.status}`, ev);
    const now = this.clock.now();
    switch (ev.event) {
      case 'started':
        this.markRunning(task, Number(ev.started?.started_at_ms) || now);
        return { disposition: 'DISPOSITION_ACCEPTED', reason: '' };
      case 'chunk': {
        const seq = Number(ev.seq);
        if (seq <= task.lastSeq) return { disposition: 'DISPOSITION_DUPLICATE', reason: 'chunk already seen' };
        task.lastSeq = seq;
        if (task.status === 'assigned') this.markRunning(task, now);
        if (task.firstChunkAtMs === null) task.firstChunkAtMs = now;
        this.emit('chunk', task, { seq, text: ev.chunk?.text ?? '', data: ev.chunk?.data ? fromValue(ev.chunk.data) : null });
        return { disposition: 'DISPOSITION_ACCEPTED', reason: '' };
      }
      case 'heartbeat':
        return { disposition: 'DISPOSITION_ACCEPTED', reason: '' };
      default:
        return this.reject('event has no started, chunk, heartbeat or final', ev);
    }
  }

  private markRunning(task: TaskRecord, startedAtMs: number): void {
    if (task.status !== 'assigned') return;
    task.startedAtMs = Math.min(startedAtMs, this.clock.now());
    transition(task, 'running', this.clock.now());
    this.store.put(task);
    if (task.sessionId) this.emit('update', task);
  }

  /** A final result (ResultService.SubmitResult, or a final event on the stream). */
  handleFinal(r: TaskResult__Output): EventOutcome {
    const task = this.store.get(r.task_id);
    if (task && TERMINAL_STATUSES.has(task.status)) {
      // Idempotent re-send of the result we accepted; anything else is a second final.
      const same = task.attempt === r.attempt && task.workerId === r.worker_id &&
        this.tokens.verify(r.result_token, r.task_id, r.attempt, r.worker_id);
      if (same) return { disposition: 'DISPOSITION_DUPLICATE', reason: `task already ${task.status}` };
      return this.reject(`task already ${task.status}`, r);
    }
    const fenced = this.fence(r);
    if (!('task' in fenced)) return fenced;
    const t = fenced.task;
    const now = this.clock.now();
    if (t.startedAtMs === null) t.startedAtMs = Math.min(Number(r.started_at_ms) || now, now);
    if (r.usage && (r.usage.total_tokens || r.usage.prompt_tokens || r.usage.completion_tokens)) {
      t.usage = { prompt_tokens: r.usage.prompt_tokens, completion_tokens: r.usage.completion_tokens, total_tokens: r.usage.total_tokens };
    }
    const worker = t.workerId ? this.registry.get(t.workerId) : undefined;
    worker?.inFlight.delete(t.id);
    switch (r.outcome) {
      case 'TASK_OUTCOME_SUCCEEDED':
        this.finish(t, 'succeeded', { result: r.output ? fromValue(r.output) : null });
        break;
      case 'TASK_OUTCOME_CANCELLED':
        this.finish(t, 'cancelled', { error: { code: r.error?.code || 'CANCELLED', message: r.error?.message || 'cancelled' } });
        break;
      case 'TASK_OUTCOME_FAILED': {
        const error = { code: r.error?.code || 'FAILED', message: r.error?.message || 'failed' };
        if (r.error?.retryable && t.attempt < this.options.maxAttempts) {
          this.requeue(t, `attempt ${t.attempt} failed: ${error.code}: ${error.message}`);
        } else {
          this.finish(t, 'failed', { error });
        }
        break;
      }
      default:
        if (worker) worker.inFlight.add(t.id);
        return this.reject('result has no outcome', r);
    }
    this.kick();
    return { disposition: 'DISPOSITION_ACCEPTED', reason: '' };
  }

  private requeue(task: TaskRecord, reason: string): void {
    this.counters.retried++;
    transition(task, 'queued', this.clock.now(), reason);
    task.workerId = null;
    this.store.put(task);
    this.queue.push(task);
    if (task.sessionId) this.emit('update', task);
  }

  private finish(task: TaskRecord, status: TaskStatus, out: { result?: JsonValue | null; error?: { code: string; message: string } }): void {
    const now = this.clock.now();
    task.finishedAtMs = now;
    task.result = out.result ?? null;
    task.error = out.error ?? null;
    task.secrets = null;
    transition(task, status, now, out.error?.message);
    if (status === 'succeeded') this.counters.succeeded++;
    else if (status === 'cancelled') this.counters.cancelled++;
    else this.counters.failed++;
    this.store.put(task);
    this.emit('done', task);
  }

  /** Tasks a lost worker held go back to the queue (or fail when out of attempts). */
  private workerLost(worker: WorkerRecord, reason: string): void {
    const ids = [...worker.inFlight];
    worker.inFlight.clear();
    for (const id of ids) {
      const task = this.store.get(id);
      if (!task || TERMINAL_STATUSES.has(task.status) || task.workerId !== worker.id) continue;
      if (task.attempt >= this.options.maxAttempts) {
        this.finish(task, 'failed', { error: { code: 'WORKER_LOST', message: `worker ${worker.id} lost (${reason}); ${task.attempt} attempts used` } });
      } else {
        this.requeue(task, `worker ${worker.id} lost (${reason})`);
      }
    }
    if (ids.length > 0) this.log.warn({ worker_id: worker.id, tasks: ids.length }, `worker lost (${reason}); its tasks were re-queued`);
    this.kick();
  }

  /** Secrets for the current attempt of a task, if the token is valid. */
  secretsFor(req: { task_id: string; attempt: number; worker_id: string; result_token: string }): Record<string, string> | EventOutcome {
    const fenced = this.fence(req);
    if (!('task' in fenced)) return fenced;
    return fenced.task.secrets ?? {};
  }

  runningCount(): number {
    let n = 0;
    for (const w of this.registry.all()) n += w.inFlight.size;
    return n;
  }
}
