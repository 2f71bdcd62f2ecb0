/**
 * The one typed stream of task and worker changes. TaskService publishes
 * every transition of a task exactly once; the worker registry publishes
 * worker changes. Subscribers (Socket.IO chat, metrics, cluster monitor,
 * per-task watchers, later a durable outbox) listen here instead of being
 * called by the code that made the change.
 *
 * An event is plain JSON (stable snake_case field names, the task's tenant;
 * `default` for worker and cluster events) with a monotonic `seq` and a timestamp `ts` (ms), so
 * that an outbox can persist it and a client can resume after a given seq.
 * In-process subscribers also get the live record the event is about (the
 * `subject`), which is not part of the event and never serialised.
 *
 * Cost when nobody listens: publishers ask `wants(type)` (one array length
 * read) before building an event, so no object is made for no one.
 */
import type { TaskRecord } from './task-record.js';
import type { WorkerRecord } from '../scheduling/worker-registry.js';

export const DEFAULT_TENANT = 'default';

interface TaskFields {
  task_id: string;
  kind: string;
  attempt: number;
  session_id: string | null;
  /** The submitting principal's id (key id, `local`) or null, as on the task: the event API shows a user key only its own. */
  owner: string | null;
}

interface FinalFields extends TaskFields {
  worker_id: string | null;
  error: { code: string; message: string } | null;
  /** Submit to start of the last attempt, when it started. */
  queue_wait_ms: number | null;
  /** Start to end of the last attempt, when it started. */
  run_ms: number | null;
}

/** Event bodies by type (without seq, ts and tenant). */
export interface TaskEventBodies {
  'task.queued': TaskFields & { priority: number };
  'task.assigned': TaskFields & { worker_id: string };
  'task.started': TaskFields & { worker_id: string };
  'task.chunk': TaskFields & { chunk_seq: number; text: string; data: unknown };
  'task.succeeded': FinalFields;
  'task.failed': FinalFields;
  'task.cancelled': FinalFields;
  'task.expired': FinalFields;
  'task.retried': TaskFields & { code: string; reason: string; delay_ms: number };
  'worker.online': { worker_id: string };
  'worker.offline': { worker_id: string; reason: string };
  'worker.draining': { worker_id: string };
  'worker.suspect': { worker_id: string; reason: string };
  /** The autoscaler changed (or asked to change) a pool's worker count (master/autoscaling/). */
  'autoscale.decision': { pool: string; from: number; to: number; reason: string; actuator: string; queued: number; in_flight: number; oldest_ms: number };
  /** An operator changed a run-time setting (placement, autoscaling): who, what, before, after. */
  'config.changed': { actor: string; role: string; target: string; scope: string; before: unknown; after: unknown };
  /** A tenant's or key's spend this period reached its soft budget (master/billing/); the event's tenant is the budget's, `key` the key's for a key budget. */
  'budget.warning': { scope: 'tenant' | 'key'; id: string; key: string | null; period: 'day' | 'month'; label: string; spent: number; soft: number; hard: number | null; currency: string };
  /** An image of a batch started, ended or was queued again (master/batches/): the image and the batch's counts after it. */
  'batch.image': BatchEventFields & {
    task_id: string | null;
    index: number;
    name: string;
    status: 'queued' | 'running' | 'succeeded' | 'failed';
    attempt: number;
    cached: boolean;
    worker_id: string | null;
    output_blob: string | null;
    ms: number | null;
    error: { code: string; message: string } | null;
  };
  /** Every image of a batch ended (fan-in: its manifest is ready). */
  'batch.finished': BatchEventFields & { status: 'succeeded' | 'failed'; ms: number };
}

export interface BatchEventFields {
  batch_id: string;
  /** The key that made the batch (a user key sees its own batches' events, as its tasks'). */
  owner: string | null;
  counts: { total: number; queued: number; running: number; succeeded: number; failed: number };
}

export type TaskEventType = keyof TaskEventBodies;

export const TASK_EVENT_TYPES: readonly TaskEventType[] = [
  'task.queued',
  'task.assigned',
  'task.started',
  'task.chunk',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.expired',
  'task.retried',
  'worker.online',
  'worker.offline',
  'worker.draining',
  'worker.suspect',
  'autoscale.decision',
  'config.changed',
  'budget.warning',
  'batch.image',
  'batch.finished',
];

export const FINAL_EVENT_TYPES = ['task.succeeded', 'task.failed', 'task.cancelled', 'task.expired'] as const;
export type FinalEventType = (typeof FINAL_EVENT_TYPES)[number];

export type TaskEventOf<T extends TaskEventType> = { seq: number; ts: number; tenant: string; type: T } & TaskEventBodies[T];
export type TaskEvent = { [T in TaskEventType]: TaskEventOf<T> }[TaskEventType];

/** What an in-process subscriber gets besides the event: the live record it is about. */
export type EventSubject<T extends TaskEventType> = T extends `worker.${string}`
  ? WorkerRecord
  : T extends 'budget.warning' | `batch.${string}`
    ? { tenant: string }
    : T extends 'config.changed'
      ? { tenant: string } | null
      : T extends ClusterEventType
        ? null
        : TaskRecord;

/** Events about the cluster's settings and size, not about one task or worker (no subject). */
export type ClusterEventType = 'autoscale.decision' | 'config.changed' | 'budget.warning';

/** The event of one of the types T (a union for several). */
export type EventOf<T extends TaskEventType> = { [K in T]: TaskEventOf<K> }[T];

export type TaskEventListener<T extends TaskEventType> = (event: EventOf<T>, subject: EventSubject<T>) => void;

export class TaskEvents {
  private seq = 0;
  private readonly listeners = new Map<TaskEventType, TaskEventListener<TaskEventType>[]>();

  constructor(private readonly now: () => number) {
    for (const t of TASK_EVENT_TYPES) this.listeners.set(t, []);
  }

  /** The last sequence number given out (0 before the first event). */
  get lastSeq(): number {
    return this.seq;
  }

  /** True when someone listens to this type: build the event only then. */
  wants(type: TaskEventType): boolean {
    return this.listeners.get(type)!.length > 0;
  }

  /** Subscribes to one or more types (all when omitted); returns the unsubscribe. */
  on<T extends TaskEventType>(types: T | readonly T[] | undefined, listener: TaskEventListener<T>): () => void {
    const list: readonly TaskEventType[] = types === undefined ? TASK_EVENT_TYPES : typeof types === 'string' ? [types] : types;
    const l = listener as unknown as TaskEventListener<TaskEventType>;
    // Copy on write: a listener that unsubscribes during delivery does not disturb it.
    for (const t of list) this.listeners.set(t, [...this.listeners.get(t)!, l]);
    return () => {
      for (const t of list) this.listeners.set(t, this.listeners.get(t)!.filter((x) => x !== l));
    };
  }

  /**
   * Stamps the body in place as the event (seq, ts, tenant, type; the
   * publisher hands over a fresh object) and delivers it to the subscribers of
   * its type, in subscription order. A throwing subscriber does not stop the
   * others or the publisher.
   */
  publish<T extends TaskEventType>(type: T, body: TaskEventBodies[T], subject: EventSubject<T>): void {
    const listeners = this.listeners.get(type)!;
    if (listeners.length === 0) return;
    // The body becomes the event (stamped in place: no copy per event); publishers pass a fresh literal.
    const event = body as TaskEventOf<T>;
    event.seq = ++this.seq;
    event.ts = this.now();
    // A task's event carries its tenant (billing, metrics and the event API segment by it); worker and cluster events: default.
    event.tenant = (subject as { tenant?: string } | null)?.tenant ?? DEFAULT_TENANT;
    event.type = type;
    for (const l of listeners) {
      try {
        (l as unknown as TaskEventListener<T>)(event, subject);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** The fields of a final event. */
export function finalFields(t: TaskRecord): FinalFields {
  return {
    task_id: t.id,
    kind: t.kind,
    attempt: t.attempt,
    session_id: t.sessionId,
    owner: t.owner,
    worker_id: t.workerId,
    error: t.error,
    queue_wait_ms: t.startedAtMs === null ? null : t.startedAtMs - t.createdAtMs,
    run_ms: t.startedAtMs === null || t.finishedAtMs === null ? null : t.finishedAtMs - t.startedAtMs,
  };
}
