/**
 * Where task and worker events are kept for the event API: appended with a
 * monotonic id (kept across restarts), read back after an id with filters,
 * pruned by age. `MemoryEventOutbox` (no data dir) keeps the newest events
 * in a bounded ring; `SqliteEventOutbox` keeps them on disk.
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
}

export interface EventOutbox {
  /**
   * Appends in order and returns the ids given (consecutive); `durable` runs
   * once they are kept (with an error if they could not be).
   */
  append(events: readonly TaskEvent[], durable: (err?: Error) => void): number[];
  /** Events with id > afterId that match, oldest first, at most `limit`. */
  after(afterId: number, filter: EventFilter, limit: number): StoredEvent[];
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
  return true;
}

export class MemoryEventOutbox implements EventOutbox {
  private readonly ring: StoredEvent[] = [];
  private next = 1;
  constructor(private readonly maxEvents = 100_000) {}

  get lastId(): number {
    return this.next - 1;
  }

  append(events: readonly TaskEvent[], durable: (err?: Error) => void): number[] {
    const ids: number[] = [];
    for (const event of events) {
      const id = this.next++;
      this.ring.push({ id, event });
      ids.push(id);
    }
    if (this.ring.length > this.maxEvents * 1.25) this.ring.splice(0, this.ring.length - this.maxEvents);
    queueMicrotask(() => durable()); // after the caller has the ids, as a disk outbox would
    return ids;
  }

  after(afterId: number, filter: EventFilter, limit: number): StoredEvent[] {
    const out: StoredEvent[] = [];
    // ids are consecutive: jump to the first one after afterId
    const first = this.ring[0]?.id ?? this.next;
    for (let i = Math.max(afterId + 1 - first, 0); i < this.ring.length && out.length < limit; i++) {
      const s = this.ring[i]!;
      if (matches(s.event, filter)) out.push(s);
    }
    return out;
  }

  async prune(beforeTs: number, maxRows: number): Promise<number> {
    let n = 0;
    while (n < maxRows && n < this.ring.length && this.ring[n]!.event.ts < beforeTs) n++;
    this.ring.splice(0, n);
    return n;
  }

  async close(): Promise<void> {}
}
