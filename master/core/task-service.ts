/**
 * The task lifecycle: admission, assignment, leases, retries with backoff,
 * timeouts, cancel, dead-lettering. Everything that changes a task goes
 * through here (results arrive via result-intake.ts as typed outcomes);
 * transport edges call in and subscribe to the event stream.
 *
 * Every change is published once on the task event stream (task-events.ts);
 * worker slots are reserved and released only through the capacity owner
 * (scheduling/capacity.ts).
 *
 * Timeouts (per task, with cluster defaults):
 *   queue      time waiting for a worker      -> task `expired` (reason: queue timeout)
 *   run        time one attempt may run       -> attempt ends (run timeout), retried or dead-lettered
 *   heartbeat  silence of a running attempt   -> attempt lost (heartbeat timeout), retried or dead-lettered
 * A lost worker (Last Will / restart) ends all its attempts the same way.
 * Dead letter: status `expired` with the reason; GET /api/v1/tasks?status=expired.
 */
import type { Clock } from '../../common/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors.js';
import type { JsonValue } from '../../common/json-value.js';
import type { Logger } from '../../common/logger.js';
import type { ResultTokens } from '../../common/result-token.js';
import { TERMINAL_STATUSES, type TaskStatus } from '../../common/task-view.js';
import type { ControlCommand, TaskAssignment } from '../../common/wire.js';
import { type Deadline, type DeadlineKind, Deadlines, backoffMs } from './deadlines.js';
import { Scheduler } from '../scheduling/scheduler.js';
import { Capacity, type ReleaseReason } from '../scheduling/capacity.js';
import type { PlacementStrategy } from '../scheduling/placement/placement-strategy.js';
import { FINAL_EVENT_TYPES, TaskEvents, finalFields, taskFields, type FinalEventType } from './task-events.js';
import type { ResultOutcome } from './result-outcome.js';
import { RejectionLog, type RejectedEvent } from './rejection-log.js';
import { type CheckedSubmit, type QueueWaitEstimator, type SubmitRequest, checkBatch, checkDeadline, checkSubmit, newTaskRecord } from './task-admission.js';
import { PayloadBudget, type PayloadBudgetOptions } from './payload-budget.js';

/** The owner of submits that name none (no API keys: one local caller). */
const ANONYMOUS_OWNER = 'local';
import { TaskQueue } from './task-queue.js';
import { requirementKey } from '../../common/task-kinds.js';
import { type TaskRecord, transition } from './task-record.js';
import type { TaskStore } from '../store/task-store.js';
import type { WorkerRecord, WorkerRegistry } from '../scheduling/worker-registry.js';

export { KIND_PATTERN, PRIORITY_MAX, PRIORITY_MIN, type SubmitRequest } from './task-admission.js';
export const MAX_ASSIGNMENTS_PER_MESSAGE = 256;
/**
 * Assignments per dispatch round; the next round runs on the next turn of the
 * event loop. Small rounds keep master and workers busy at the same time
 * (pipelining) instead of taking turns on one huge batch.
 */
const MAX_ASSIGNMENTS_PER_ROUND = 256;
/** Least lease given to an attempt restored after a master restart. */
export const RESTORE_GRACE_MS = 10_000;
/** Deadlines of one attempt (the queue deadline belongs to the task). */
const ATTEMPT_DEADLINES: readonly DeadlineKind[] = ['run', 'lease', 'cancel'];

export interface AssignmentSink {
  publishAssignments(workerId: string, tasks: TaskAssignment[]): void;
  publishControl(workerId: string, command: ControlCommand): void;
}

export interface TaskChunk {
  seq: number;
  text: string;
  data: JsonValue | null;
}

export interface TaskServiceDeps {
  /** The event stream to publish on (a fresh one by default). */
  events?: TaskEvents;
  /** Worker choice (default least-loaded). */
  placement?: PlacementStrategy;
}

const FINAL_EVENT: Record<string, FinalEventType> = {
  succeeded: 'task.succeeded',
  failed: 'task.failed',
  cancelled: 'task.cancelled',
  expired: 'task.expired',
};

/** Why the master ended an attempt -> why its slot is released. */
const RELEASE_BY_CODE: Record<string, ReleaseReason> = { HEARTBEAT_TIMEOUT: 'lost', RUN_TIMEOUT: 'timed_out', CANCELLED: 'cancelled' };

export interface TaskServiceOptions {
  maxAttempts: number;
  taskTimeoutMs: number;
  queueTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxInputBytes: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a cancelled running task may take to confirm before it is closed anyway. */
  cancelGraceMs: number;
  /** Unfinished input bytes per owner and in total (defaults: 256 MiB, 1 GiB). */
  payloadBudget?: PayloadBudgetOptions;
  /** TASKWIRE_ADMISSION_DEADLINES=on: a submit without a deadline is refused when it cannot start within its queue timeout. */
  admissionDeadlines?: boolean;
}

export class TaskService {
  readonly queue = new TaskQueue<TaskRecord>();
  readonly events: TaskEvents;
  readonly capacity: Capacity;
  /** Results refused by the intake: counted always, logged sampled. */
  readonly rejections: RejectionLog;
  /** Unfinished task input held per owner: a flood of large submits gets 429, not the master's memory. */
  readonly budget: PayloadBudget;
  private readonly admission: { store: TaskStore; registry: WorkerRegistry; maxInputBytes: number };
  readonly deadlines: Deadlines;
  private readonly scheduler: Scheduler<TaskRecord>;
  private seq = 0;
  private dispatchScheduled = false;
  private sink: AssignmentSink | undefined;
  /** Queue-wait estimates for deadline admission and `eta_ms` (set by the master: scheduling/wait-estimator.ts). */
  private waitEstimator: QueueWaitEstimator | undefined;
  readonly counters = { submitted: 0, succeeded: 0, failed: 0, cancelled: 0, expired: 0, rejectedResults: 0, retried: 0 };

  constructor(
    readonly store: TaskStore,
    readonly registry: WorkerRegistry,
    readonly tokens: ResultTokens,
    readonly clock: Clock,
    readonly log: Logger,
    readonly options: TaskServiceOptions,
    deps: TaskServiceDeps = {},
  ) {
    this.events = deps.events ?? new TaskEvents(() => clock.now());
    this.capacity = new Capacity();
    this.rejections = new RejectionLog(log);
    this.admission = { store, registry, maxInputBytes: options.maxInputBytes };
    this.budget = new PayloadBudget(options.payloadBudget);
    this.events.on(FINAL_EVENT_TYPES, (ev) => this.budget.release(ev.task_id));
    this.scheduler = new Scheduler(this.queue, registry, this.capacity, deps.placement);
    this.deadlines = new Deadlines(clock, (d) => this.onDeadline(d));
    registry.on('online', (w) => {
      this.adopt(w);
      if (this.events.wants('worker.online')) this.events.publish('worker.online', { worker_id: w.id }, w);
      this.kick();
    });
    registry.on('changed', () => this.kick());
    registry.on('draining', (w) => {
      if (this.events.wants('worker.draining')) this.events.publish('worker.draining', { worker_id: w.id }, w);
    });
    registry.on('offline', (w, reason, wasDraining) => this.workerLost(w, reason, wasDraining));
  }

  attachSink(sink: AssignmentSink): void {
    this.sink = sink;
    this.deadlines.start();
    this.kick();
  }

  stop(): void {
    this.deadlines.stop();
    this.sink = undefined;
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

  /**
   * Admits a task and resolves once it is durable (on disk with a durable
   * store): every surface acknowledges a submit only after this.
   */
  async submit(req: SubmitRequest): Promise<{ task: TaskRecord; created: boolean }> {
    this.assertStoreWritable();
    const out = this.admit(req);
    await this.store.commit();
    return out;
  }

  /** Durable `admitMany`: resolves once every task of the batch is on disk. */
  async submitMany(reqs: readonly SubmitRequest[]): Promise<{ task: TaskRecord; created: boolean }[]> {
    this.assertStoreWritable();
    const out = this.admitMany(reqs);
    await this.store.commit();
    return out;
  }

  /** A store that can no longer keep writes refuses every submit (its error is a 503, code UNAVAILABLE). */
  private assertStoreWritable(): void {
    const down = this.store.failure?.();
    if (down) throw down;
  }

  /** Admits a task in memory (queued at once); durable only after the next commit: edges use `submit`. */
  admit(req: SubmitRequest): { task: TaskRecord; created: boolean } {
    const checked = checkSubmit(req, this.admission);
    if ('existing' in checked) return { task: checked.existing, created: false };
    this.budget.check(req.owner ?? ANONYMOUS_OWNER, checked.bytes);
    const queueTimeoutMs = checkDeadline(req, checked, this.deadlineContext(req));
    return { task: this.create({ ...req, queueTimeoutMs }, checked), created: true };
  }

  /** Uses a queue-wait estimator for deadline admission and `standing` (none: deadlines only bound the queue time). */
  useWaitEstimator(estimator: QueueWaitEstimator): void {
    this.waitEstimator = estimator;
  }

  private deadlineContext(req: SubmitRequest) {
    return {
      now: this.clock.now(),
      estimator: this.waitEstimator,
      aheadOf: (key: string, priority: number) => this.queue.aheadOf(key, priority),
      queueTimeoutIsDeadline: this.options.admissionDeadlines === true,
      queueTimeoutMs: req.queueTimeoutMs ?? this.options.queueTimeoutMs,
    };
  }

  /**
   * Where a queued task stands: how many tasks of its requirement run before
   * it, and the estimated ms until it starts (null without an estimator or
   * when no worker serves it). Undefined when it is not queued.
   */
  standing(id: string): { position: number; etaMs: number | null } | undefined {
    const position = this.queue.position(id);
    if (position === undefined) return undefined;
    const t = this.store.get(id);
    if (!t || !this.waitEstimator) return { position, etaMs: null };
    const { waitMs } = this.waitEstimator.estimate(t.requirement, t.key, position);
    return { position, etaMs: Number.isFinite(waitMs) ? waitMs : null };
  }

  /**
   * Submits several tasks, all or nothing: every request is checked before
   * any task is created, and an error names the item (`tasks.3.kind`). An
   * idempotency key seen earlier in the same batch returns that task.
   */
  admitMany(reqs: readonly SubmitRequest[]): { task: TaskRecord; created: boolean }[] {
    const checked = checkBatch(reqs, this.admission);
    const perOwner = new Map<string, number>();
    checked.forEach((c, i) => {
      if ('existing' in c) return;
      const owner = reqs[i]!.owner ?? ANONYMOUS_OWNER;
      perOwner.set(owner, (perOwner.get(owner) ?? 0) + c.bytes);
    });
    for (const [owner, bytes] of perOwner) this.budget.check(owner, bytes);
    // Deadlines of the whole batch before any task is created (earlier items of a key queue ahead of later ones).
    const batchAhead = new Map<string, number>();
    const queueTimeouts = checked.map((c, i) => {
      if ('existing' in c) return 0;
      const key = requirementKey(c.requirement);
      const ahead = batchAhead.get(key) ?? 0;
      batchAhead.set(key, ahead + 1);
      try {
        return checkDeadline(reqs[i]!, c, this.deadlineContext(reqs[i]!), ahead);
      } catch (err) {
        throw err instanceof ValidationError ? err.within(`tasks.${i}`) : err;
      }
    });
    const byKey = new Map<string, TaskRecord>();
    return reqs.map((req, i) => {
      const c = checked[i]!;
      if ('existing' in c) return { task: c.existing, created: false };
      const earlier = req.idempotencyKey === undefined ? undefined : byKey.get(req.idempotencyKey);
      if (earlier) return { task: earlier, created: false };
      const task = this.create({ ...req, queueTimeoutMs: queueTimeouts[i]! }, c);
      if (req.idempotencyKey !== undefined) byKey.set(req.idempotencyKey, task);
      return { task, created: true };
    });
  }

  private create(req: SubmitRequest, checked: Exclude<CheckedSubmit, { existing: TaskRecord }>): TaskRecord {
    const task = newTaskRecord(req, checked, ++this.seq, this.clock.now(), this.options);
    this.budget.reserve(task.id, req.owner ?? ANONYMOUS_OWNER, checked.bytes);
    this.store.put(task);
    this.counters.submitted++;
    if (this.events.wants('task.queued')) {
      this.events.publish('task.queued', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, priority: task.priority }, task);
    }
    this.enqueue(task);
    return task;
  }

  /** Puts a queued task in the scheduler queue with its queue deadline. */
  enqueue(task: TaskRecord): void {
    if (task.queueTimeoutMs > 0) this.deadlines.add({ atMs: task.createdAtMs + task.queueTimeoutMs, taskId: task.id, kind: 'queue', attempt: task.attempt });
    this.queue.push(task);
    this.kick();
  }

  private readonly adopted = new Map<string, Set<string>>();

  /**
   * After a master restart: re-queues what was queued and gives attempts that
   * were assigned or running a fresh lease, so their workers can keep going
   * (results carry tokens that still verify) or lose them to the lease.
   */
  restore(tasks: TaskRecord[], maxSeq: number): { queued: number; inFlight: number } {
    this.seq = Math.max(this.seq, maxSeq);
    const now = this.clock.now();
    let queued = 0;
    let inFlight = 0;
    for (const t of tasks) {
      t.cancelRequested ??= false;
      t.stream ??= t.sessionId !== null;
      if (t.status === 'queued') {
        this.enqueue(t);
        queued++;
      } else if ((t.status === 'assigned' || t.status === 'running') && t.workerId) {
        inFlight++;
        t.leaseUntilMs = null;
        // Give the worker time to reconnect to the new master first (gRPC backoff, broker reconnect).
        t.leaseUntilMs = now + Math.max(t.heartbeatTimeoutMs, RESTORE_GRACE_MS);
        this.scheduleLeaseCheck(t);
        if (t.assignedAtMs !== null) this.deadlines.add({ atMs: t.assignedAtMs + t.timeoutMs, taskId: t.id, kind: 'run', attempt: t.attempt });
        let set = this.adopted.get(t.workerId);
        if (!set) this.adopted.set(t.workerId, (set = new Set()));
        set.add(t.id);
        const w = this.registry.get(t.workerId);
        if (w) this.capacity.adopt(w, t.id);
      }
    }
    return { queued, inFlight };
  }

  /** A worker (re)appeared: count the restored attempts it still holds against its capacity. */
  private adopt(worker: WorkerRecord): void {
    const ids = this.adopted.get(worker.id);
    if (!ids) return;
    this.adopted.delete(worker.id);
    for (const id of ids) {
      const t = this.store.get(id);
      if (t && t.workerId === worker.id && (t.status === 'assigned' || t.status === 'running')) this.capacity.adopt(worker, id);
    }
  }

  cancel(id: string, reason = 'cancelled by user'): TaskRecord {
    const task = this.require(id);
    if (TERMINAL_STATUSES.has(task.status)) return task;
    if (task.status === 'queued') {
      this.queue.remove(task.id);
      this.finish(task, 'cancelled', { error: { code: 'CANCELLED', message: reason } });
      return task;
    }
    task.cancelRequested = true;
    this.store.put(task);
    if (task.workerId) {
      this.sink?.publishControl(task.workerId, { action: 'CONTROL_ACTION_CANCEL', task_id: task.id, attempt: task.attempt, reason });
    }
    this.deadlines.add({ atMs: this.clock.now() + this.options.cancelGraceMs, taskId: task.id, kind: 'cancel', attempt: task.attempt });
    return task;
  }

  /**
   * An operator's retry of a failed, expired or cancelled task: a NEW task
   * with the same kind, input, priority and limits, linked to the old one by
   * the idempotency key `retry-of:<id>` (so retrying the same task twice
   * returns the one retry; a finished task is never re-opened). Secrets are
   * not kept after a task ends, so a retry runs without them. Durable before
   * it resolves, like `submit`. ConflictError for any other status.
   */
  async retry(id: string, owner?: string): Promise<{ task: TaskRecord; created: boolean; retryOf: string }> {
    const old = this.require(id);
    if (old.status !== 'failed' && old.status !== 'expired' && old.status !== 'cancelled') {
      throw new ConflictError(`task ${id} is ${old.status}: only failed, expired or cancelled tasks can be retried`);
    }
    const out = await this.submit({
      kind: old.kind,
      input: old.input,
      priority: old.priority,
      idempotencyKey: `retry-of:${old.id}`,
      stream: old.stream,
      timeoutMs: old.timeoutMs,
      queueTimeoutMs: old.queueTimeoutMs,
      heartbeatTimeoutMs: old.heartbeatTimeoutMs,
      maxAttempts: old.maxAttempts,
      owner,
    });
    return { ...out, retryOf: old.id };
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
    let n = 0;
    for (const { task, worker } of this.scheduler.matches()) {
      task.attempt += 1;
      task.workerId = worker.id;
      task.workerLanguage = worker.status.language || null;
      task.assignedAtMs = now;
      task.startedAtMs = null;
      task.firstChunkAtMs = null;
      task.lastSeq = 0;
      this.renewLease(task, now);
      this.deadlines.add({ atMs: now + task.timeoutMs, taskId: task.id, kind: 'run', attempt: task.attempt });
      transition(task, 'assigned', now);
      this.store.put(task, 'state');
      let batch = batches.get(worker.id);
      if (!batch) batches.set(worker.id, (batch = []));
      batch.push({
        task_id: task.id,
        attempt: task.attempt,
        kind: task.kind,
        input: task.input,
        result_token: (task.token = this.tokens.issue(task.id, task.attempt, worker.id)),
        deadline_ms: now + task.timeoutMs,
        priority: task.priority,
        enqueued_at_ms: task.createdAtMs,
        // At least three heartbeats fit in the task's heartbeat timeout.
        heartbeat_interval_ms: Math.max(50, Math.min(this.options.heartbeatIntervalMs, Math.floor(task.heartbeatTimeoutMs / 3))),
        secret_names: task.secrets ? Object.keys(task.secrets) : [],
        stream: task.stream,
      });
      if (this.events.wants('task.assigned')) {
        this.events.publish('task.assigned', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, worker_id: worker.id }, task);
      }
      if (++n >= MAX_ASSIGNMENTS_PER_ROUND) {
        this.kick(); // more next turn
        break;
      }
    }
    for (const [workerId, tasks] of batches) {
      for (let i = 0; i < tasks.length; i += MAX_ASSIGNMENTS_PER_MESSAGE) {
        sink.publishAssignments(workerId, tasks.slice(i, i + MAX_ASSIGNMENTS_PER_MESSAGE));
      }
    }
  }

  /** Task id -> the attempt with a lease check pending: one at a time keeps the heap small. */
  private readonly leaseChecks = new Map<string, number>();

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
  private scheduleLeaseCheck(task: TaskRecord): void {
    if (task.leaseUntilMs === null) return;
    if (this.leaseChecks.get(task.id) === task.attempt) return;
    this.leaseChecks.set(task.id, task.attempt);
    this.deadlines.add({ atMs: task.leaseUntilMs, taskId: task.id, kind: 'lease', attempt: task.attempt });
  }

  markRunning(task: TaskRecord, startedAtMs: number): void {
    if (task.status !== 'assigned') return;
    const now = this.clock.now();
    task.startedAtMs = Math.min(startedAtMs, now);
    transition(task, 'running', now);
    this.store.put(task, 'state');
    if (this.events.wants('task.started')) this.events.publish('task.started', { ...taskFields(task), worker_id: task.workerId ?? '' }, task);
  }

  /**
   * Applies what the result intake accepted (token checked, attempt fenced,
   * duplicates dropped): the lease, STARTED, a chunk, or the final outcome.
   */
  applyResult(o: ResultOutcome): void {
    const task = o.task;
    const now = this.clock.now();
    this.registry.heardFrom(o.workerId, now);
    switch (o.type) {
      case 'heartbeat':
        this.renewLease(task, now);
        return;
      case 'started':
        this.renewLease(task, now);
        this.markRunning(task, o.startedAtMs);
        return;
      case 'chunk':
        this.renewLease(task, now);
        task.lastSeq = o.seq;
        if (task.status === 'assigned') this.markRunning(task, now);
        if (task.firstChunkAtMs === null) task.firstChunkAtMs = now;
        if (this.events.wants('task.chunk')) this.events.publish('task.chunk', { ...taskFields(task), chunk_seq: o.seq, text: o.text, data: o.data }, task);
        return;
      case 'final':
        break;
    }
    if (task.startedAtMs === null) task.startedAtMs = Math.min(o.startedAtMs ?? now, now);
    if (o.usage) task.usage = o.usage;
    this.capacity.release(task.workerId ? this.registry.get(task.workerId) : undefined, task.id, o.outcome === 'cancelled' ? 'cancelled' : 'finished');
    if (o.outcome === 'succeeded') this.finish(task, 'succeeded', { result: o.result });
    else if (o.outcome === 'cancelled') this.finish(task, 'cancelled', { error: o.error ?? { code: 'CANCELLED', message: 'cancelled' } });
    else {
      const error = o.error ?? { code: 'FAILED', message: 'failed' };
      if (o.retryable) this.retryOrDeadLetter(task, error.code, `attempt ${task.attempt} failed: ${error.code}: ${error.message}`, 'failed');
      else this.finish(task, 'failed', { error });
    }
    this.kick();
  }

  /** A result the intake refused: counted always, logged sampled (rejection-log.ts). */
  noteRejected(reason: string, ev: RejectedEvent): void {
    this.counters.rejectedResults++;
    this.rejections.note(reason, ev);
  }

  private onDeadline(d: Deadline): void {
    if (d.kind === 'lease' && this.leaseChecks.get(d.taskId) === d.attempt) this.leaseChecks.delete(d.taskId);
    const task = this.store.get(d.taskId);
    if (!task || TERMINAL_STATUSES.has(task.status)) return;
    const now = this.clock.now();
    switch (d.kind) {
      case 'queue':
        if (task.status === 'queued' && this.queue.has(task.id)) {
          this.queue.remove(task.id);
          this.finish(task, 'expired', { error: { code: 'QUEUE_TIMEOUT', message: `no worker took it within ${task.queueTimeoutMs} ms (queue timeout)` } });
        }
        return;
      case 'retry':
        if (task.status === 'queued' && task.attempt === d.attempt && !this.queue.has(task.id)) {
          this.queue.push(task);
          this.kick();
        }
        return;
      default:
        break;
    }
    if (task.attempt !== d.attempt || (task.status !== 'assigned' && task.status !== 'running')) return;
    if (d.kind === 'lease') {
      if (task.leaseUntilMs === null) return;
      if (task.leaseUntilMs > now) return this.scheduleLeaseCheck(task); // renewed since: check again at its new end
      const worker = task.workerId ? this.registry.get(task.workerId) : undefined;
      if (worker && !worker.suspect) {
        worker.suspect = true;
        this.log.warn({ worker_id: worker.id }, `worker ${worker.id} missed heartbeats: no new work until it is heard from`);
        if (this.events.wants('worker.suspect')) this.events.publish('worker.suspect', { worker_id: worker.id, reason: `missed heartbeats of task ${task.id}` }, worker);
      }
      this.endAttempt(task, 'HEARTBEAT_TIMEOUT', `attempt ${task.attempt} lost: no heartbeat from ${task.workerId} for ${task.heartbeatTimeoutMs} ms`);
    } else if (d.kind === 'run') {
      this.endAttempt(task, 'RUN_TIMEOUT', `attempt ${task.attempt} exceeded the run timeout of ${task.timeoutMs} ms`);
    } else if (d.kind === 'cancel') {
      this.endAttempt(task, 'CANCELLED', `worker ${task.workerId} did not confirm the cancel within ${this.options.cancelGraceMs} ms`);
    }
  }

  /**
   * Ends the current attempt from the master's side (lease, run timeout,
   * worker lost): frees the worker, tells it to stop, then retries or dead-letters.
   */
  endAttempt(task: TaskRecord, code: string, reason: string): void {
    const workerId = task.workerId;
    if (workerId) {
      this.capacity.release(this.registry.get(workerId), task.id, RELEASE_BY_CODE[code] ?? 'lost');
      this.sink?.publishControl(workerId, { action: 'CONTROL_ACTION_CANCEL', task_id: task.id, attempt: task.attempt, reason });
    }
    this.retryOrDeadLetter(task, code, reason, 'expired');
    this.kick();
  }

  /** After a failed attempt: back to the queue after a backoff, or final. */
  retryOrDeadLetter(task: TaskRecord, code: string, reason: string, finalStatus: 'failed' | 'expired'): void {
    task.leaseUntilMs = null;
    if (task.cancelRequested) {
      this.finish(task, 'cancelled', { error: { code: 'CANCELLED', message: reason } });
      return;
    }
    if (task.attempt >= task.maxAttempts) {
      this.finish(task, finalStatus, { error: { code, message: `${reason}; ${task.attempt} of ${task.maxAttempts} attempts used` } });
      return;
    }
    // The ended attempt's run, lease and cancel deadlines can no longer apply.
    this.deadlines.clear(task.id, ATTEMPT_DEADLINES);
    this.leaseChecks.delete(task.id);
    const delay = backoffMs(task.attempt, this.options.retryBaseMs, this.options.retryMaxMs);
    this.counters.retried++;
    transition(task, 'queued', this.clock.now(), `${reason}; retry in ${delay} ms`);
    task.workerId = null;
    this.store.put(task);
    this.deadlines.add({ atMs: this.clock.now() + delay, taskId: task.id, kind: 'retry', attempt: task.attempt });
    if (this.events.wants('task.retried')) this.events.publish('task.retried', { ...taskFields(task), code, reason, delay_ms: delay }, task);
  }

  finish(task: TaskRecord, status: TaskStatus, out: { result?: JsonValue | null; error?: { code: string; message: string } }): void {
    const now = this.clock.now();
    task.finishedAtMs = now;
    task.result = out.result ?? null;
    task.error = out.error ?? null;
    task.secrets = null;
    task.leaseUntilMs = null;
    transition(task, status, now, out.error?.message);
    this.deadlines.clear(task.id);
    this.leaseChecks.delete(task.id);
    if (status === 'succeeded') this.counters.succeeded++;
    else if (status === 'cancelled') this.counters.cancelled++;
    else if (status === 'expired') this.counters.expired++;
    else this.counters.failed++;
    this.store.put(task);
    // Announce a final state only once it is durable: a result a user has
    // seen is never lost and never re-run after a master crash.
    const type = FINAL_EVENT[status]!;
    if (this.events.wants(type)) {
      const body = finalFields(task);
      this.store.afterCommit(() => this.events.publish(type, body, task));
    }
  }

  /** Tasks a lost worker held go back to the queue (or are dead-lettered when out of attempts). */
  private workerLost(worker: WorkerRecord, reason: string, wasDraining = false): void {
    const ids = this.capacity.releaseAll(worker, wasDraining ? 'drained' : 'lost');
    for (const id of ids) {
      const task = this.store.get(id);
      if (!task || TERMINAL_STATUSES.has(task.status) || task.workerId !== worker.id) continue;
      this.retryOrDeadLetter(task, 'WORKER_LOST', `worker ${worker.id} lost (${reason})`, 'expired');
    }
    if (ids.length > 0) this.log.warn({ worker_id: worker.id, tasks: ids.length }, `worker lost (${reason}); its tasks were re-queued`);
    if (this.events.wants('worker.offline')) this.events.publish('worker.offline', { worker_id: worker.id, reason }, worker);
    this.kick();
  }

  runningCount(): number {
    return this.capacity.inUse(this.registry.all());
  }
}
