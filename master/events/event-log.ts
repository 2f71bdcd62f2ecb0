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
  /**
   * Followers get kept events at most this often (default 25 ms): an event
   * after a quiet spell is handed at once, the ones that follow within the
   * interval wait and go together, so under load each follower gets one
   * batch (one write, one shared encoding) per interval, not one per turn.
   */
  deliverIntervalMs?: number;
}

export const EVENT_LOG_DEFAULTS = { retentionMs: 24 * 3600_000, pruneChunkRows: 5000, pruneIntervalMs: 60_000, deliverIntervalMs: 25 } as const;

/** Event types kept in the outbox (everything but per-token chunks). */
export const DURABLE_EVENT_TYPES: readonly TaskEventType[] = TASK_EVENT_TYPES.filter((t) => t !== 'task.chunk');

const isEmptyFilter = (f: EventFilter): boolean =>
  f.types === undefined && f.taskId === undefined && f.workerId === undefined && f.kind === undefined && f.status === undefined && f.tenant === undefined && f.owners === undefined && f.batchId === undefined;

/** Followers with equal filters share one key (and so one filtered batch). */
const filterKey = (f: EventFilter): string =>
  isEmptyFilter(f) ? '' : JSON.stringify([f.types ? [...f.types].sort() : null, f.taskId ?? null, f.workerId ?? null, f.kind ?? null, f.status ?? null, f.tenant ?? null, f.owners ? [...f.owners].sort() : null, f.batchId ?? null]);

export interface Follower {
  readonly filter: EventFilter;
  /**
   * The kept events newer than the previous batch, in id order. The same
   * array goes to every follower with an equal filter (see event-routes.ts:
   * its bytes are encoded once); never modify it.
   */
  deliver(batch: readonly StoredEvent[]): void;
}

/** Followers with one filter: they get one batch array. */
interface FollowerGroup {
  readonly filter: EventFilter;
  readonly members: Set<Follower>;
}

export class EventLog {
  private pending: TaskEvent[] = [];
  private scheduled = false;
  private readonly groups = new Map<string, FollowerGroup>();
  private followers = 0;
  /** Kept events waiting for the next delivery, and its timer. */
  private outgoing: StoredEvent[] = [];
  private deliverTimer: NodeJS.Timeout | undefined;
  private lastDeliverAt = -Infinity;
  private readonly unsubscribe: () => void;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly o: Required<EventLogOptions>;
  private closed = false;
  private pruning = false;
  /** Appends that failed (the events were lost). */
  failures = 0;
  /** Appends handed to the outbox, and answered by it (kept or lost): they answer in order. */
  private appendsIssued = 0;
  private appendsAnswered = 0;
  /** Callers of `settled()`, each waiting for the appends issued before it asked. */
  private settleWaiters: { upTo: number; resolve: () => void }[] = [];

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
    outbox.tail?.((batch) => this.handOut(batch));
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
    this.appendsIssued++;
    const ids = this.outbox.append(batch, (err) => {
      this.appendsAnswered++;
      if (this.settleWaiters.length > 0) this.wakeSettled();
      if (err) {
        this.failures += batch.length;
        this.log.error({ err: err.message, events: batch.length }, 'event outbox append failed: these events are lost to the event API');
        return;
      }
      if (this.followers === 0 || this.outbox.tail) return; // shared: delivered from the tail
      this.handOut(batch.map((event, i) => ({ id: ids[i]!, event })));
    });
  }

  /**
   * Resolves once every event emitted before the call has been answered by
   * the outbox (kept, or lost with an error), so a page read after it holds
   * them: a client that saw a task finish and then asks for the stream's
   * page finds that task's events in it (read your writes).
   */
  settled(): Promise<void> {
    this.flush();
    if (this.appendsAnswered >= this.appendsIssued || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ upTo: this.appendsIssued, resolve }));
  }

  private wakeSettled(): void {
    const still: typeof this.settleWaiters = [];
    for (const w of this.settleWaiters) {
      if (this.appendsAnswered >= w.upTo) w.resolve();
      else still.push(w);
    }
    this.settleWaiters = still;
  }

  /** Kept events to followers: at once after a quiet interval, else with the others of the interval. */
  private handOut(stored: readonly StoredEvent[]): void {
    if (this.followers === 0 || stored.length === 0) return;
    for (const s of stored) this.outgoing.push(s);
    if (this.deliverTimer !== undefined) return;
    const wait = this.lastDeliverAt + this.o.deliverIntervalMs - performance.now();
    if (wait <= 0) this.deliver();
    else {
      this.deliverTimer = setTimeout(() => this.deliver(), wait);
      this.deliverTimer.unref();
    }
  }

  private deliver(): void {
    if (this.deliverTimer !== undefined) clearTimeout(this.deliverTimer);
    this.deliverTimer = undefined;
    const stored = this.outgoing;
    if (stored.length === 0) return;
    this.outgoing = [];
    this.lastDeliverAt = performance.now();
    for (const g of this.groups.values()) {
      // One array per filter (the unfiltered get the batch itself): its bytes are encoded once for all of them.
      const mine = isEmptyFilter(g.filter) ? stored : stored.filter((s) => matches(s.event, g.filter));
      if (mine.length === 0) continue;
      for (const f of g.members) f.deliver(mine);
    }
  }

  /** Stored events after an id (a page of a replay). */
  async after(afterId: number, filter: EventFilter, limit: number): Promise<StoredEvent[]> {
    return this.outbox.after(afterId, filter, limit);
  }

  follow(f: Follower): () => void {
    const key = filterKey(f.filter);
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { filter: f.filter, members: new Set() }));
    if (g.members.has(f)) return () => {};
    g.members.add(f);
    this.followers++;
    const group = g;
    return () => {
      if (!group.members.delete(f)) return;
      this.followers--;
      if (group.members.size === 0 && this.groups.get(key) === group) this.groups.delete(key);
    };
  }

  get followerCount(): number {
    return this.followers;
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
    this.deliver(); // what the close kept
    for (const w of this.settleWaiters.splice(0)) w.resolve();
    this.groups.clear();
    this.followers = 0;
  }
}
