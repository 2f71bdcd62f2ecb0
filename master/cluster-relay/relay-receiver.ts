/**
 * The interested master's side of the chunk relay: which sessions and tasks
 * someone here watches (written to the interest table, renewed while they
 * last), the relayed chunks of those tasks (de-duplicated by attempt and
 * seq, in order) and their ends. The end is never lost: a `done` item reads
 * the committed final from the store; when none came (the broker was out of
 * reach, the running master died after its commit), the task's durable
 * final event, which reaches every master through the shared event outbox,
 * does the same a grace period later.
 */
import type { JsonValue } from '../../common/json-value.js';
import type { Logger } from '../../common/logger.js';
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import type { TaskRecord } from '../core/task-record.js';
import type { StoredEvent } from '../events/event-outbox.js';
import type { TaskView } from '../../common/task-view.js';
import { decodeRelay, type RelayedChunk } from './relay-wire.js';
import { sessionKey, taskKey } from './watch-table.js';

/** Where relayed output goes on this master (Socket.IO sessions, live output, gateway watchers). */
export interface RelaySinks {
  chunk(c: RelayedChunk): void;
  done(t: TaskRecord): void;
  /** A session task's `task:update` view (assigned, started, retried). */
  update(sessionId: string, view: TaskView): void;
}

export interface RelayReceiverOptions {
  events: TaskEvents;
  /** Reads a task's row (another master's: every time). */
  store: { preload?(q: { id: string }): Promise<void>; get(id: string): TaskRecord | undefined };
  interests: { add(keys: readonly string[]): Promise<void>; remove(keys: readonly string[]): Promise<void> };
  sinks: RelaySinks;
  log: Logger;
  /** How long a durable final waits for the relayed `done` (which comes after the task's chunks) before it is used (default 1000 ms). */
  graceMs?: number;
  /** Tasks remembered for de-duplication (default 10,000). */
  maxTasks?: number;
}

/** A Set that forgets its oldest entries past `max`. */
class BoundedSet {
  private readonly s = new Set<string>();
  constructor(private readonly max: number) {}
  has(k: string): boolean {
    return this.s.has(k);
  }
  add(k: string): void {
    this.s.delete(k);
    this.s.add(k);
    if (this.s.size > this.max) this.s.delete(this.s.values().next().value!);
  }
  delete(k: string): void {
    this.s.delete(k);
  }
}

export class RelayReceiver {
  private readonly sessions = new Set<string>();
  private readonly tasks = new Map<string, number>();
  /** Last (attempt, seq) handed on per task. */
  private readonly last = new Map<string, { attempt: number; seq: number }>();
  /** The tasks whose chunks came here for a session (to forget their `last` when its sockets leave). */
  private readonly sessionTasks = new Map<string, Set<string>>();
  /** Tasks whose end was handed on here (or finished here). */
  private readonly ended: BoundedSet;
  private pendingAdd = new Set<string>();
  private pendingRemove = new Set<string>();
  private writeScheduled = false;
  private readonly off: () => void;
  private readonly graceMs: number;
  private readonly maxTasks: number;
  private closed = false;
  readonly stats = { chunks: 0, updates: 0, duplicates: 0, done: 0, fromOutbox: 0, invalid: 0, writeFailures: 0 };

  constructor(private readonly o: RelayReceiverOptions) {
    this.graceMs = o.graceMs ?? 1000;
    this.maxTasks = o.maxTasks ?? 10_000;
    this.ended = new BoundedSet(this.maxTasks);
    // A task that ended on this master had its end handed on by its own subscribers.
    this.off = o.events.on(FINAL_EVENT_TYPES, (e) => {
      this.ended.add(e.task_id);
      this.last.delete(e.task_id);
      if (e.session_id) this.sessionTasks.get(e.session_id)?.delete(e.task_id);
    });
  }

  /** Keys this master holds in the interest table now. */
  keys(): string[] {
    return [...[...this.sessions].map(sessionKey), ...[...this.tasks.keys()].map(taskKey)];
  }

  watchSession(id: string, on: boolean): void {
    if (on === this.sessions.has(id)) return;
    if (on) this.sessions.add(id);
    else this.sessions.delete(id);
    // Its sockets went: what was handed on since reached no one, so a browser coming back here is sent it again.
    for (const task of this.sessionTasks.get(id) ?? []) if (!this.tasks.has(task)) this.last.delete(task);
    this.sessionTasks.delete(id);
    this.write(sessionKey(id), on);
  }

  /** A watcher of a task's output here came (on) or went (off); counted. */
  watchTask(id: string, on: boolean): void {
    if (!on && !this.tasks.has(id)) return;
    const n = (this.tasks.get(id) ?? 0) + (on ? 1 : -1);
    if (n > 0) this.tasks.set(id, n);
    else this.tasks.delete(id);
    if (on && n === 1) {
      this.write(taskKey(id), true);
      // It may have ended elsewhere before the interest was known: read it once.
      if (!this.ended.has(id)) this.finish(id, 1, true);
    } else if (!on && n <= 0) this.write(taskKey(id), false);
  }

  /** A message on this master's relay topic. */
  onMessage(payload: Buffer): void {
    const m = decodeRelay(payload, (reason) => {
      this.stats.invalid++;
      this.o.log.warn({ reason }, 'chunk relay: invalid message dropped');
    });
    if (!m) return;
    for (const item of m.items) {
      if (item.type === 'done') {
        this.finish(item.task_id);
        continue;
      }
      if (item.type === 'update') {
        if (this.ended.has(item.task_id) || !this.sessions.has(item.session_id)) continue;
        this.stats.updates++;
        this.o.sinks.update(item.session_id, item.view as unknown as TaskView);
        continue;
      }
      if (item.session_id !== null && this.sessions.has(item.session_id)) {
        let set = this.sessionTasks.get(item.session_id);
        if (!set) this.sessionTasks.set(item.session_id, (set = new Set()));
        if (set.size < 1000) set.add(item.task_id);
      }
      const prev = this.last.get(item.task_id);
      if (this.ended.has(item.task_id) || (prev && (item.attempt < prev.attempt || (item.attempt === prev.attempt && item.seq <= prev.seq)))) {
        this.stats.duplicates++;
        continue;
      }
      if (!prev && this.last.size >= this.maxTasks) this.last.delete(this.last.keys().next().value!);
      this.last.set(item.task_id, { attempt: item.attempt, seq: item.seq });
      this.stats.chunks++;
      this.o.sinks.chunk({ ...item, data: (item.data ?? null) as JsonValue | null });
    }
  }

  /** Final events of every master, from the shared outbox: the ends no `done` brought. */
  onDurable(batch: readonly StoredEvent[]): void {
    for (const { event: e } of batch) {
      if (e.type === 'batch.image' || e.type === 'batch.finished' || !('task_id' in e) || this.ended.has(e.task_id)) continue; // finals only (the follow's filter)
      const sid = 'session_id' in e ? e.session_id : null;
      if (!(sid !== null && this.sessions.has(sid)) && !this.tasks.has(e.task_id)) continue;
      const id = e.task_id;
      setTimeout(() => {
        if (this.ended.has(id) || this.closed) return;
        this.stats.fromOutbox++;
        this.finish(id);
      }, this.graceMs).unref();
    }
  }

  /** Reads the committed final and hands it on once (a few tries: the row may lag a moment). */
  private finish(id: string, tries = 5, probe = false): void {
    if (this.ended.has(id) || this.closed) return;
    if (!probe) this.ended.add(id);
    const read = async () => {
      await this.o.store.preload?.({ id });
      return this.o.store.get(id);
    };
    read().then(
      (t) => {
        if (t && t.finishedAtMs !== null) {
          if (probe) {
            if (this.ended.has(id)) return;
            this.ended.add(id);
          }
          this.last.delete(id);
          if (t.sessionId !== null) this.sessionTasks.get(t.sessionId)?.delete(id);
          this.stats.done++;
          this.o.sinks.done(t);
        } else if (!probe) this.retry(id, tries);
      },
      () => (probe ? undefined : this.retry(id, tries)),
    );
  }

  private retry(id: string, tries: number): void {
    this.ended.delete(id);
    if (tries <= 1) return; // the durable final event tries again when it comes
    setTimeout(() => this.finish(id, tries - 1), this.graceMs).unref();
  }

  private write(key: string, on: boolean): void {
    if (this.closed) return; // the table's rows went with the relay
    (on ? this.pendingRemove : this.pendingAdd).delete(key);
    (on ? this.pendingAdd : this.pendingRemove).add(key);
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => void this.flushWrites());
  }

  private async flushWrites(): Promise<void> {
    this.writeScheduled = false;
    if (this.closed) return;
    const add = [...this.pendingAdd];
    const remove = [...this.pendingRemove];
    this.pendingAdd = new Set();
    this.pendingRemove = new Set();
    try {
      await this.o.interests.add(add);
      await this.o.interests.remove(remove);
    } catch (err) {
      this.stats.writeFailures++;
      this.o.log.warn({ err: (err as Error).message }, 'chunk relay: interest table write failed (tried again with the renewal)');
    }
  }

  /** Renews the rows of what is still watched here, and writes again any that failed (a few times per lease). */
  async renew(): Promise<void> {
    await this.o.interests.add(this.keys().filter((k) => !this.pendingRemove.has(k)));
  }

  close(): void {
    this.closed = true;
    this.off();
  }
}
