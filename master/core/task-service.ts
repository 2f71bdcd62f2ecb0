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
import { ConflictError, NotFoundError } from '../../common/errors.js';
import type { JsonValue } from '../../common/json-value.js';
import type { Logger } from '../../common/logger.js';
import type { ResultTokens } from '../../common/result-token.js';
import { TERMINAL_STATUSES, type TaskStatus } from '../../common/task-view.js';
import type { Deadlines } from './deadlines.js';
import { AttemptTimers } from './attempt-timers.js';
import { type AssignmentSink, dispatchRound, MAX_ASSIGNMENTS_PER_ROUND } from './task-dispatch.js';
import { TaskRestore } from './task-restore.js';
import { Scheduler } from '../scheduling/scheduler.js';
import { Capacity } from '../scheduling/capacity.js';
import type { TaskServiceDeps, TaskServiceOptions } from './task-service-options.js';
import { FINAL_EVENT_TYPES, TaskEvents } from './task-events.js';
import type { ResultOutcome } from './result-outcome.js';
import { applyOutcome } from './result-apply.js';
import { RejectionLog, type RejectedEvent } from './rejection-log.js';
import { type AdmissionContext, type AllowList, type CheckedSubmit, type QueueWaitEstimator, type SubmitRequest, assertStoreWritable, checkBatch, checkBatchLimits, retryRequest, checkDeadline, checkSubmit, newTaskRecord, preloadKeys } from './task-admission.js';
import { PayloadBudget } from './payload-budget.js';
import { type AdmissionGate, anyActive, gated, passGates } from './admission-gate.js';
import { anySourced, type FeatureSource, withSourcedFeatures } from './feature-source.js';
import { ColdTasks } from './cold-tasks.js';
import { TaskEndings } from './task-endings.js';

/** The owner of submits that name none (no API keys: one local caller). */
const ANONYMOUS_OWNER = 'local';
import { TaskQueue } from './task-queue.js';
import { type TaskRecord, transition } from './task-record.js';
import type { TaskStore } from '../store/task-store.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';

export { KIND_PATTERN, PRIORITY_MAX, PRIORITY_MIN, type SubmitRequest } from './task-admission.js';
export { MAX_ASSIGNMENTS_PER_MESSAGE, type AssignmentSink } from './task-dispatch.js';
export { RESTORE_GRACE_MS } from './task-restore.js';
export type { TaskChunk, TaskServiceDeps, TaskServiceOptions } from './task-service-options.js';

export class TaskService {
  readonly queue = new TaskQueue<TaskRecord>();
  readonly events: TaskEvents;
  readonly capacity: Capacity;
  /** Results refused by the intake: counted always, logged sampled. */
  readonly rejections: RejectionLog;
  /** Unfinished task input held per owner: a flood of large submits gets 429, not the master's memory. */
  readonly budget: PayloadBudget;
  private readonly admission: AdmissionContext;
  readonly deadlines: Deadlines;
  private readonly scheduler: Scheduler<TaskRecord>;
  private readonly timers: AttemptTimers;
  private readonly restorer: TaskRestore;
  /** Queued tasks kept as compact entries past a backlog's first HOT_QUEUED_MAX (cold-tasks.ts). */
  private readonly cold: ColdTasks;
  private readonly endings: TaskEndings;
  private seq = 0;
  private dispatchScheduled = false;
  private sink: AssignmentSink | undefined;
  /** Queue-wait estimates for deadline admission and `eta_ms` (set by the master: scheduling/wait-estimator.ts). */
  private waitEstimator: QueueWaitEstimator | undefined;
  /** Limits, quotas and budgets every submit passes (admission-gate.ts; none by default). */
  private gates: AdmissionGate[] = [];
  /** Per kind, the features a task needs beyond its input's (feature-source.ts; none by default). */
  private readonly featureSources = new Map<string, FeatureSource>();
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
    this.timers = new AttemptTimers(this);
    this.deadlines = this.timers.deadlines;
    this.restorer = new TaskRestore(this, this.timers);
    this.cold = new ColdTasks(this, ANONYMOUS_OWNER, options.hotQueuedMax);
    const { clock: c, log: l, events, capacity, counters, timers } = this;
    this.endings = new TaskEndings({ clock: c, log: l, store, registry, capacity, events, counters, timers, sink: () => this.sink, kick: () => this.kick() });
    if (store.cold) this.deadlines.afterRun = (now) => this.cold.expireDue(now);
    registry.on('online', (w) => {
      this.restorer.adopt(w);
      if (this.events.wants('worker.online')) this.events.publish('worker.online', { worker_id: w.id }, w);
      this.kick();
    });
    registry.on('changed', () => this.kick());
    registry.on('draining', (w) => {
      if (this.events.wants('worker.draining')) this.events.publish('worker.draining', { worker_id: w.id }, w);
    });
    registry.on('offline', (w, reason, wasDraining) => this.endings.workerLost(w, reason, wasDraining));
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

  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[] {
    return this.store.list(filter);
  }

  /**
   * Admits a task and resolves once it is durable (on disk with a durable
   * store): every surface acknowledges a submit only after this.
   */
  async submit(given: SubmitRequest): Promise<{ task: TaskRecord; created: boolean }> {
    assertStoreWritable(this.store);
    const req = this.featureSources.has(given.kind) ? ((await withSourcedFeatures(this.featureSources, [given])) as [SubmitRequest])[0] : given;
    await preloadKeys(this.store, [req]);
    const tickets = anyActive(this.gates) ? await passGates(this.gates, [req]) : undefined;
    const out = gated(tickets, () => [this.admit(req)])[0]!;
    await this.store.commit();
    return out;
  }

  /** Durable `admitMany`: resolves once every task of the batch is on disk. */
  async submitMany(given: readonly SubmitRequest[]): Promise<{ task: TaskRecord; created: boolean }[]> {
    assertStoreWritable(this.store);
    const reqs = anySourced(this.featureSources, given) ? await withSourcedFeatures(this.featureSources, given) : given;
    await preloadKeys(this.store, reqs);
    const tickets = anyActive(this.gates) ? await passGates(this.gates, reqs) : undefined;
    const out = gated(tickets, () => this.admitMany(reqs));
    await this.store.commit();
    return out;
  }

  /** Kinds accepted with no worker online because the autoscaler starts one (master/autoscaling/). */
  useScaleFromZero(startsWorkersFor: (kind: string) => boolean): void {
    this.admission.startsWorkersFor = startsWorkersFor;
  }

  /**
   * Features tasks of `kind` need beyond what their input says, resolved at
   * every durable submit (`submit`, `submitMany`; feature-source.ts): e.g.
   * the read feature of an image's input blob. One source per kind.
   */
  useFeatureSource(kind: string, source: FeatureSource): void {
    this.featureSources.set(kind, source);
  }

  /** Adds a gate every submit passes (limits, budgets): admission-gate.ts. */
  useAdmissionGate(gate: AdmissionGate): void {
    this.gates.push(gate);
  }

  /** Admits a task in memory (queued at once); durable only after the next commit: edges use `submit`. */
  admit(req: SubmitRequest): { task: TaskRecord; created: boolean } {
    const checked = checkSubmit(req, this.admission);
    if ('existing' in checked) return { task: checked.existing, created: false };
    this.budget.check(req.owner ?? ANONYMOUS_OWNER, checked.bytes);
    const queueTimeoutMs = checkDeadline(req, checked, this.deadlineContext(req));
    return { task: this.create({ ...req, queueTimeoutMs }, checked), created: true };
  }

  /** Checks every submit against its owner's allow-lists of kinds and models (master/tenancy's keys; FORBIDDEN otherwise). */
  useAllowLists(of: (owner: string) => AllowList | undefined): void {
    this.admission.allowListOf = of;
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
    const t = this.queue.get(id); // a compact entry has the requirement too: nothing read from disk
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
    const queueTimeouts = checkBatchLimits(reqs, checked, {
      checkBudget: (owner, bytes) => this.budget.check(owner, bytes),
      deadlineContext: (req) => this.deadlineContext(req),
      defaultOwner: ANONYMOUS_OWNER,
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
    const cold = this.handOff ? undefined : this.cold.admit(task, checked.bytes); // a big backlog: queued compactly, the record on disk only
    if (!cold) {
      this.budget.reserve(task.id, req.owner ?? ANONYMOUS_OWNER, checked.bytes);
      this.store.put(task);
    }
    this.counters.submitted++;
    if (this.events.wants('task.queued')) {
      this.events.publish('task.queued', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, owner: task.owner, priority: task.priority }, task);
    }
    if (cold) {
      this.queue.push(cold);
      this.kick();
    } else if (this.handOff?.(task)) return task; // multi-master: left to the shared pool (master/store/postgres-cluster.ts)
    else this.enqueue(task);
    return task;
  }

  /** Multi-master: `handOff(task)` true leaves a new task to the shared pool instead of this master's queue. */
  useHandOff(handOff: (task: TaskRecord) => boolean): void {
    this.handOff = handOff;
  }

  private handOff: ((task: TaskRecord) => boolean) | undefined;

  /** Puts a queued task in the scheduler queue with its queue deadline. */
  enqueue(task: TaskRecord): void {
    if (task.queueTimeoutMs > 0) this.deadlines.add({ atMs: task.createdAtMs + task.queueTimeoutMs, taskId: task.id, kind: 'queue', attempt: task.attempt });
    this.queue.push(task);
    this.kick();
  }

  /**
   * After a master restart: re-queues what was queued and gives attempts that
   * were assigned or running a fresh lease (task-restore.ts).
   */
  restore(tasks: TaskRecord[], maxSeq: number): { queued: number; inFlight: number } {
    this.seq = Math.max(this.seq, maxSeq);
    const out = this.restorer.restore(tasks);
    out.queued += this.cold.restore(); // the queued tasks the store left on disk, as compact entries
    return out;
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
    const out = await this.submit(retryRequest(old, owner));
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
    dispatchRound(this, sink, this.cold.records(this.scheduler.matches(), MAX_ASSIGNMENTS_PER_ROUND));
  }

  /** Extends the current attempt's lease (assignment, STARTED, chunks, HEARTBEAT). */
  renewLease(task: TaskRecord, now: number): void {
    this.timers.renewLease(task, now);
  }

  markRunning(task: TaskRecord, startedAtMs: number): void {
    if (task.status !== 'assigned') return;
    const now = this.clock.now();
    task.startedAtMs = Math.min(startedAtMs, now);
    transition(task, 'running', now);
    this.store.put(task, 'state');
    if (this.events.wants('task.started')) this.events.publish('task.started', { task_id: task.id, kind: task.kind, attempt: task.attempt, session_id: task.sessionId, owner: task.owner, worker_id: task.workerId ?? '' }, task);
  }

  /**
   * Applies what the result intake accepted (token checked, attempt fenced,
   * duplicates dropped): the lease, STARTED, a chunk, or the final outcome.
   */
  applyResult(o: ResultOutcome): void {
    applyOutcome(this, o);
  }

  /** A result the intake refused: counted always, logged sampled (rejection-log.ts). */
  noteRejected(reason: string, ev: RejectedEvent): void {
    this.counters.rejectedResults++;
    this.rejections.note(reason, ev);
  }

  /**
   * Ends the current attempt from the master's side (lease, run timeout,
   * worker lost): frees the worker, tells it to stop, then retries or dead-letters.
   */
  endAttempt(task: TaskRecord, code: string, reason: string): void {
    this.endings.endAttempt(task, code, reason);
  }

  /** After a failed attempt: back to the queue after a backoff, or final. */
  retryOrDeadLetter(task: TaskRecord, code: string, reason: string, finalStatus: 'failed' | 'expired'): void {
    this.endings.retryOrDeadLetter(task, code, reason, finalStatus);
  }

  /** A final state: kept, then announced once durable (task-endings.ts). */
  finish(task: TaskRecord, status: TaskStatus, out: { result?: JsonValue | null; error?: { code: string; message: string } }): void {
    this.endings.finish(task, status, out);
  }

  runningCount(): number {
    return this.capacity.inUse(this.registry.all());
  }
}
