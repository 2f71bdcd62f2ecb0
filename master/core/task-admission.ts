/**
 * Admission of a submit: the checks every surface shares (kind name,
 * priority, idempotency key, input size and schema, a worker that serves the
 * kind) and the new task record. TaskService calls these; they change
 * nothing themselves.
 */
import { jsonBytes } from '../../common/json-bytes.js';
import { ConflictError, DeadlineUnreachableError, PayloadTooLargeError, TaskwireError, ValidationError } from '../../common/errors.js';
import type { JsonValue } from '../../common/json-value.js';
import { type Requirement, requirementKey, validateTaskInput } from '../../common/task-kinds.js';
import { newTaskId } from '../../common/task-id.js';
import { DIAGNOSTIC_KIND_NAMES, KIND_NAME_PATTERN as KIND_PATTERN, PRIORITY_MAX, PRIORITY_MIN } from '../../common/kind-names.js';
import { DEFAULT_TENANT, initialState, type TaskRecord } from './task-record.js';
import type { TaskStore } from '../store/task-store.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';

// Declared once in common/kind-names.ts (the web UI uses them too).
export { KIND_NAME_PATTERN as KIND_PATTERN, PRIORITY_MAX, PRIORITY_MIN } from '../../common/kind-names.js';
const ALWAYS_ACCEPTED_KINDS: ReadonlySet<string> = new Set(DIAGNOSTIC_KIND_NAMES);

export interface SubmitRequest {
  kind: string;
  input: JsonValue;
  priority?: number;
  idempotencyKey?: string;
  sessionId?: string;
  /** Ask workers for streamed chunks (default: when there is a session). */
  stream?: boolean;
  secrets?: Record<string, string>;
  timeoutMs?: number;
  queueTimeoutMs?: number;
  heartbeatTimeoutMs?: number;
  maxAttempts?: number;
  /** Who submits (the principal's id): what it may hold unfinished is bounded (PayloadBudget). */
  owner?: string;
  /** The principal's tenant (limits, usage ledger, who may see the task); `default` when not given. */
  tenant?: string;
  /** The submitter sees only the tasks of these owners (a key without the operate scope: its own and its user's keys): an idempotency key naming another owner's task is a 409, never that task. */
  visibleOwners?: readonly string[];
  /**
   * Features the task needs besides those its input names (its kind spec's),
   * set by the master's feature source for the kind at submit
   * (feature-source.ts: the read feature of an image's input blob); never a
   * client's field.
   */
  features?: readonly string[];
  /** Must start within this many ms (relative deadline): refused now when it cannot, expires queued then. */
  deadlineMs?: number;
  /** The same as an absolute time (ms since the epoch); give one of the two. */
  deadlineAtMs?: number;
}

/** The narrow view of the queue-wait estimator (master/scheduling/wait-estimator.ts) admission needs. */
export interface QueueWaitEstimator {
  estimate(requirement: Requirement, key: string, position: number): { waitMs: number; slots: number };
}

export interface DeadlineContext {
  now: number;
  /** Without one, deadlines only bound the queue time (no refusal at submit). */
  estimator: QueueWaitEstimator | undefined;
  /** Queued tasks of `key` that run before a new one of `priority`. */
  aheadOf(key: string, priority: number): number;
  /** Cluster setting (TASKWIRE_ADMISSION_DEADLINES=on): a task without a deadline is checked against its queue timeout. */
  queueTimeoutIsDeadline: boolean;
  /** The queue timeout the task gets without a deadline (0: none). */
  queueTimeoutMs: number;
}

/**
 * Deadline admission: the queue timeout a task gets from its deadline, after
 * refusing it (DeadlineUnreachableError) when the estimated wait at its
 * position exceeds the time left. `extraAhead`: tasks of the same batch
 * admitted before it. Returns the queue timeout to use (unchanged without a
 * deadline).
 */
export function checkDeadline(
  req: SubmitRequest,
  checked: Exclude<CheckedSubmit, { existing: TaskRecord }>,
  ctx: DeadlineContext,
  extraAhead = 0,
): number {
  if (req.deadlineMs !== undefined && req.deadlineAtMs !== undefined) {
    throw new ValidationError('deadline_at', 'give deadline_ms or deadline_at, not both');
  }
  let left: number | undefined;
  if (req.deadlineMs !== undefined) left = req.deadlineMs;
  else if (req.deadlineAtMs !== undefined) {
    left = req.deadlineAtMs - ctx.now;
    if (!(left > 0)) throw new ValidationError('deadline_at', `is ${-left} ms in the past`);
  }
  const queueTimeoutMs = left === undefined ? ctx.queueTimeoutMs : ctx.queueTimeoutMs > 0 ? Math.min(ctx.queueTimeoutMs, left) : left;
  const checkAgainst = left ?? (ctx.queueTimeoutIsDeadline && ctx.queueTimeoutMs > 0 ? ctx.queueTimeoutMs : undefined);
  if (checkAgainst === undefined || !ctx.estimator) return queueTimeoutMs;
  const key = requirementKey(checked.requirement);
  const position = ctx.aheadOf(key, checked.priority) + extraAhead;
  const { waitMs, slots } = ctx.estimator.estimate(checked.requirement, key, position);
  if (slots === 0 || waitMs > checkAgainst) throw new DeadlineUnreachableError(Number.isFinite(waitMs) ? waitMs : -1, checkAgainst, slots === 0);
  return queueTimeoutMs;
}

/** The task an idempotency key already names, or the normalized input of a new one. */
export type CheckedSubmit = { existing: TaskRecord } | { input: JsonValue; requirement: Requirement; priority: number; bytes: number };

/** Kinds / models a key may submit (absent list: any). */
export interface AllowList {
  kinds?: readonly string[];
  models?: readonly string[];
}

export interface AdmissionContext {
  store: TaskStore;
  registry: WorkerRegistry;
  maxInputBytes: number;
  /** The allow-lists of a submitting owner (key id), if it has any. */
  allowListOf?: (owner: string) => AllowList | undefined;
  /** Kinds an autoscaling policy starts workers for (scale from zero): queued with no worker online instead of refused. */
  startsWorkersFor?: (kind: string) => boolean;
}

/** Cluster defaults for what a submit leaves out. */
export interface TaskDefaults {
  taskTimeoutMs: number;
  queueTimeoutMs: number;
  heartbeatTimeoutMs: number;
  maxAttempts: number;
}

/** Validates a submit (ValidationError / PayloadTooLargeError naming the field). */
export function checkSubmit(req: SubmitRequest, ctx: AdmissionContext): CheckedSubmit {
  if (!KIND_PATTERN.test(req.kind)) throw new ValidationError('kind', `"${String(req.kind).slice(0, 64)}" is not a valid kind`);
  const priority = req.priority ?? 0;
  if (!Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX) {
    throw new ValidationError('priority', `must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`);
  }
  // The submitting key's allow-lists (master/tenancy: looked up by the owner's key id).
  const allow = req.owner === undefined ? undefined : ctx.allowListOf?.(req.owner);
  if (allow?.kinds && !allow.kinds.includes(req.kind)) throw new TaskwireError('FORBIDDEN', `kind: this key may not submit kind "${String(req.kind).slice(0, 64)}"`);
  if (req.idempotencyKey !== undefined) {
    const existing = ctx.store.byIdempotencyKey(req.idempotencyKey);
    // A key names a task of its tenant only: another tenant's is neither returned nor replaced.
    if (existing && existing.tenant !== (req.tenant ?? DEFAULT_TENANT)) throw new ConflictError('idempotency_key: already used by another tenant');
    if (existing && req.visibleOwners && (existing.owner === null || !req.visibleOwners.includes(existing.owner))) throw new ConflictError('idempotency_key: already used by another key');
    if (existing) return { existing };
  }
  const size = jsonBytes(req.input ?? null); // the JSON's size, without building it (a 1 MiB input left 1 MiB of garbage)
  if (size > ctx.maxInputBytes) throw new PayloadTooLargeError('input', size, ctx.maxInputBytes);
  const { input, requirement } = validateTaskInput(req.kind, req.input, req.features);
  if (allow?.models && requirement.model !== undefined && !allow.models.includes(requirement.model)) {
    throw new TaskwireError('FORBIDDEN', `model: this key may not use model "${requirement.model}"`);
  }
  if (!ALWAYS_ACCEPTED_KINDS.has(req.kind) && !ctx.startsWorkersFor?.(req.kind)) {
    const served = ctx.registry.kinds();
    if (!served.includes(req.kind)) {
      throw new ValidationError('kind', `no worker serves kind "${req.kind}" (served now: ${served.join(', ') || 'none'})`);
    }
    // Workers of the kind are up, but none has every feature the input needs (an image format one cannot write).
    const lack = ctx.registry.unsupported(requirement);
    if (lack) {
      throw new ValidationError('input', `no worker serving "${req.kind}" supports ${lack.missing.join(', ')} (${lack.workers} online worker${lack.workers === 1 ? '' : 's'} of the kind)`);
    }
  }
  return { input, requirement, priority, bytes: size };
}

/** Checks every request of a batch before any is created; an error names the item (`tasks.3.kind`). */
export function checkBatch(reqs: readonly SubmitRequest[], ctx: AdmissionContext): CheckedSubmit[] {
  return reqs.map((req, i) => {
    try {
      return checkSubmit(req, ctx);
    } catch (err) {
      throw err instanceof ValidationError || err instanceof PayloadTooLargeError ? err.within(`tasks.${i}`) : err;
    }
  });
}

/** The record of a new, queued task. */
/**
 * The limits of a whole batch before any task is created: each owner's
 * payload budget, then every item's deadline (earlier items of a key queue
 * ahead of later ones; an error names the item). Returns the queue timeouts.
 */
export function checkBatchLimits(
  reqs: readonly SubmitRequest[],
  checked: readonly CheckedSubmit[],
  ctx: { checkBudget(owner: string, bytes: number): void; deadlineContext(req: SubmitRequest): DeadlineContext; defaultOwner: string },
): number[] {
  const perOwner = new Map<string, number>();
  checked.forEach((c, i) => {
    if ('existing' in c) return;
    const owner = reqs[i]!.owner ?? ctx.defaultOwner;
    perOwner.set(owner, (perOwner.get(owner) ?? 0) + c.bytes);
  });
  for (const [owner, bytes] of perOwner) ctx.checkBudget(owner, bytes);
  const batchAhead = new Map<string, number>();
  return checked.map((c, i) => {
    if ('existing' in c) return 0;
    const key = requirementKey(c.requirement);
    const ahead = batchAhead.get(key) ?? 0;
    batchAhead.set(key, ahead + 1);
    try {
      return checkDeadline(reqs[i]!, c, ctx.deadlineContext(reqs[i]!), ahead);
    } catch (err) {
      // A refused deadline names its item too (the estimate differs per position in the batch).
      if (err instanceof DeadlineUnreachableError) err.message = `tasks.${i}: ${err.message}`;
      throw err instanceof ValidationError ? err.within(`tasks.${i}`) : err;
    }
  });
}

/** The submit of an operator's retry: same kind, input, priority and limits, keyed `retry-of:<id>` (no secrets). */
export function retryRequest(old: TaskRecord, owner: string | undefined): SubmitRequest {
  return {
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
    tenant: old.tenant,
  };
}

export function newTaskRecord(
  req: SubmitRequest,
  { input, requirement, priority, bytes }: Exclude<CheckedSubmit, { existing: TaskRecord }>,
  seq: number,
  now: number,
  d: TaskDefaults,
): TaskRecord {
  return {
    id: newTaskId(now),
    kind: req.kind,
    input,
    priority,
    requirement,
    key: requirementKey(requirement),
    seq,
    sessionId: req.sessionId ?? null,
    stream: req.stream ?? req.sessionId !== undefined,
    idempotencyKey: req.idempotencyKey ?? null,
    createdAtMs: now,
    timeoutMs: req.timeoutMs ?? d.taskTimeoutMs,
    queueTimeoutMs: req.queueTimeoutMs ?? d.queueTimeoutMs,
    heartbeatTimeoutMs: req.heartbeatTimeoutMs ?? d.heartbeatTimeoutMs,
    maxAttempts: req.maxAttempts ?? d.maxAttempts,
    leaseUntilMs: null,
    secrets: req.secrets ?? null,
    tenant: req.tenant ?? DEFAULT_TENANT,
    owner: req.owner ?? null,
    inputBytes: bytes,
    ...initialState(now),
  };
}

/** A store that caches only part of its tasks (PostgreSQL) reads finished ones with these idempotency keys first. */
export async function preloadKeys(store: TaskStore, reqs: readonly SubmitRequest[]): Promise<void> {
  if (!store.preload) return;
  for (const r of reqs) if (r.idempotencyKey !== undefined) await store.preload({ idempotencyKey: r.idempotencyKey });
}

/** A store that can no longer keep writes refuses every submit (its error is a 503, code UNAVAILABLE). */
export function assertStoreWritable(store: TaskStore): void {
  const down = store.failure?.();
  if (down) throw down;
}
