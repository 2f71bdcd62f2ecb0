/**
 * Where task and worker events are kept for the event API: appended with a
 * monotonic id (kept across restarts), read back after an id with filters,
 * pruned by age. `MemoryEventOutbox` (no data dir) keeps the newest events
 * in a bounded ring; `SqliteEventOutbox` keeps them on disk;
 * `PostgresEventOutbox` keeps every master's events in the task store's
 * PostgreSQL, one id sequence for all (shared: see `tail`).
 */
import type { TaskEvent } from '../core/task-events.js';

/** An event as the API serves it: the stream's event with the outbox's id. */
export interface StoredEvent {
  readonly id: number;
  readonly event: TaskEvent;
}

export interface EventFilter {
  types?: ReadonlySet<string>;
  taskId?: string;
  workerId?: string;
  kind?: string;
  /** Final status (succeeded, failed, cancelled, expired): matches task.<status> events. */
  status?: string;
  /** Only events of this tenant (a tenant's key; a cluster operator sees all). */
  tenant?: string;
  /**
   * Only the task events of tasks these key ids submitted (a user key: its
   * own, auth/task-visibility.ts `listingScope`); no worker or cluster event.
   */
  owners?: ReadonlySet<string>;
  /** Only the events of this image batch (`batch.image`, `batch.finished`). */
  batchId?: string;
}

/** The event types a batch filter keeps. */
export const BATCH_EVENT_TYPES: readonly string[] = ['batch.image', 'batch.finished'];

/** The types a filter reads (undefined: every type): its status's final, its batch's events, within its `types`. */
export function filterTypes(f: EventFilter): string[] | undefined {
  let types = f.types ? [...f.types] : undefined;
  if (f.status !== undefined) types = (types ?? [`task.${f.status}`]).filter((t) => t === `task.${f.status}`);
  if (f.batchId !== undefined) types = (types ?? [...BATCH_EVENT_TYPES]).filter((t) => BATCH_EVENT_TYPES.includes(t));
  return types;
}

export interface EventOutbox {
  /**
   * Appends in order and returns the ids given (consecutive); `durable` runs
   * once they are kept (with an error if they could not be). A shared
   * outbox gives the ids at commit: it returns none, and the events come
   * back with their ids through `tail`.
   */
  append(events: readonly TaskEvent[], durable: (err?: Error) => void): number[];
  /** Events with id > afterId that match, oldest first, at most `limit`. */
  after(afterId: number, filter: EventFilter, limit: number): StoredEvent[] | Promise<StoredEvent[]>;
  /**
   * A shared outbox (several masters append): every master's events, in id
   * order, once each, after they are kept. The event log then feeds its
   * followers from here rather than from its own appends.
   */
  tail?(onEvents: (batch: readonly StoredEvent[]) => void): void;
  /** The newest id (0 when empty). */
  readonly lastId: number;
  /** Deletes events older than the cutoff (ms), at most `maxRows` per call; resolves with how many. */
  prune(beforeTs: number, maxRows: number): Promise<number>;
  close(): Promise<void>;
}

export function matches(e: TaskEvent, f: EventFilter): boolean {
  if (f.types && !f.types.has(e.type)) return false;
  if (f.taskId !== undefined && (!('task_id' in e) || e.task_id !== f.taskId)) return false;
  if (f.workerId !== undefined && (!('worker_id' in e) || e.worker_id !== f.workerId)) return false;
  if (f.kind !== undefined && (!('kind' in e) || e.kind !== f.kind)) return false;
  if (f.status !== undefined && e.type !== `task.${f.status}`) return false;
  if (f.tenant !== undefined && (e.tenant ?? 'default') !== f.tenant) return false;
  // Only task events carry an owner; one stored before owners were (null or absent) is no user's.
  if (f.owners !== undefined && !f.owners.has((e as { owner?: string | null }).owner ?? '')) return false;
  if (f.batchId !== undefined && (!('batch_id' in e) || e.batch_id !== f.batchId)) return false;
  return true;
}

export class MemoryEventOutbox implements EventOutbox {
  /**
   * The newest events in a fixed ring: event of id `first + i` at
   * `(head + i) % capacity`. No wrapper object per event (ids are
   * consecutive) and no array copying when it is full (hot path).
   */
  private readonly ring: (TaskEvent | undefined)[];
  private head = 0;
  private size = 0;
  /** Id of the oldest event kept. */
  private first = 1;
  constructor(private readonly maxEvents = 100_000) {
    this.ring = new Array<TaskEvent | undefined>(maxEvents);
  }

  get lastId(): number {
    return this.first + this.size - 1;
  }

  append(events: readonly TaskEvent[], durable: (err?: Error) => void): number[] {
    const ids: number[] = [];
    const cap = this.maxEvents;
    for (const event of events) {
      ids.push(this.first + this.size);
      if (this.size < cap) {
        this.ring[(this.head + this.size) % cap] = event;
        this.size++;
      } else {
        // full: the oldest gives way
        this.ring[this.head] = event;
        this.head = (this.head + 1) % cap;
        this.first++;
      }
    }
    queueMicrotask(() => durable()); // after the caller has the ids, as a disk outbox would
    return ids;
  }

  after(afterId: number, filter: EventFilter, limit: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    // ids are consecutive: jump to the first one after afterId
    for (let i = Math.max(afterId + 1 - this.first, 0); i < this.size && out.length < limit; i++) {
      const event = this.ring[(this.head + i) % this.maxEvents]!;
      if (matches(event, filter)) out.push({ id: this.first + i, event });
    }
    return out;
  }

  async prune(beforeTs: number, maxRows: number): Promise<number> {
    let n = 0;
    while (n < maxRows && this.size > 0 && this.ring[this.head]!.ts < beforeTs) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.maxEvents;
      this.first++;
      this.size--;
      n++;
    }
    return n;
  }

  async close(): Promise<void> {}
}
