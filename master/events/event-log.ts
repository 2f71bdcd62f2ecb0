/**
 * The durable, resumable event stream: listens to the task event stream,
 * appends every task and worker event (but chunks: they are live only, on
 * the chat and the gateway) to the outbox once per event-loop turn, and
 * only then hands them, with their outbox ids, to followers. A follower
 * therefore never sees an id the outbox does not have: after a master
 * restart, resuming from the last id it saw gives every event it missed,
 * in order, once. Old events are pruned in chunks after the retention.
 * On a shared outbox (PostgreSQL: several masters), followers are fed from
 * the outbox's tail instead, every master's events in id order.
 */
import type { Logger } from '../../common/logger.js';
import { TASK_EVENT_TYPES, type TaskEvent, type TaskEvents, type TaskEventType } from '../core/task-events.js';
import { type EventFilter, type EventOutbox, matches, type StoredEvent } from './event-outbox.js';

export interface EventLogOptions {
  /** How long events are kept (default 24 h). */
  retentionMs?: number;
  /** Rows deleted per pruning step (default 5000). */
  pruneChunkRows?: number;
  /** How often pruning runs (default 60 s). */
  pruneIntervalMs?: number;
}

export const EVENT_LOG_DEFAULTS = { retentionMs: 24 * 3600_000, pruneChunkRows: 5000, pruneIntervalMs: 60_000 } as const;

/** Event types kept in the outbox (everything but per-token chunks). */
export const DURABLE_EVENT_TYPES: readonly TaskEventType[] = TASK_EVENT_TYPES.filter((t) => t !== 'task.chunk');

const isEmptyFilter = (f: EventFilter): boolean =>
  f.types === undefined && f.taskId === undefined && f.workerId === undefined && f.kind === undefined && f.status === undefined && f.tenant === undefined;

export interface Follower {
  readonly filter: EventFilter;
  deliver(batch: readonly StoredEvent[]): void;
}

export class EventLog {
  private pending: TaskEvent[] = [];
  private scheduled = false;
  private readonly followers = new Set<Follower>();
  private readonly unsubscribe: () => void;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly o: Required<EventLogOptions>;
  private closed = false;
  private pruning = false;
  /** Appends that failed (the events were lost). */
  failures = 0;

  constructor(
    events: TaskEvents,
    private readonly outbox: EventOutbox,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    options: EventLogOptions = {},
  ) {
    this.o = { ...EVENT_LOG_DEFAULTS, ...options };
    this.unsubscribe = events.on(DURABLE_EVENT_TYPES, (ev) => {
      this.pending.push(ev as TaskEvent);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
    outbox.tail?.((batch) => this.deliver(batch));
    this.pruneTimer = setInterval(() => void this.prune(), this.o.pruneIntervalMs);
    this.pruneTimer.unref();
  }

  get lastId(): number {
    return this.outbox.lastId;
  }

  /** Writes what is pending, then delivers it to followers. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    // Followers get a batch only once it is kept: an id they saw always exists after a restart.
    const ids = this.outbox.append(batch, (err) => {
      if (err) {
        this.failures += batch.length;
        this.log.error({ err: err.message, events: batch.length }, 'event outbox append failed: these events are lost to the event API');
        return;
      }
      if (this.followers.size === 0 || this.outbox.tail) return; // shared: delivered from the tail
      this.deliver(batch.map((event, i) => ({ id: ids[i]!, event })));
    });
  }

  private deliver(stored: readonly StoredEvent[]): void {
    for (const f of this.followers) {
      // A follower without a filter gets the batch itself (one array for all: its serialization can be shared).
      const mine = isEmptyFilter(f.filter) ? stored : stored.filter((s) => matches(s.event, f.filter));
      if (mine.length > 0) f.deliver(mine);
    }
  }

  /** Stored events after an id (a page of a replay). */
  async after(afterId: number, filter: EventFilter, limit: number): Promise<StoredEvent[]> {
    return this.outbox.after(afterId, filter, limit);
  }

  follow(f: Follower): () => void {
    this.followers.add(f);
    return () => this.followers.delete(f);
  }

  get followerCount(): number {
    return this.followers.size;
  }

  /** Deletes events past the retention, a chunk at a time (never one long transaction). */
  async prune(): Promise<number> {
    if (this.pruning) return 0;
    this.pruning = true;
    try {
      const cutoff = this.now() - this.o.retentionMs;
      let total = 0;
      for (let i = 0; i < 1000 && !this.closed; i++) {
        const n = await this.outbox.prune(cutoff, this.o.pruneChunkRows);
        total += n;
        if (n < this.o.pruneChunkRows) break;
      }
      return total;
    } finally {
      this.pruning = false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.pruneTimer);
    await this.outbox.close();
    this.followers.clear();
  }
}
