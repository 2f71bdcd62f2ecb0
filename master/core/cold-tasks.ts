/**
 * Compact queue entries for a big backlog (internal to the core, called only
 * from task-service.ts). While few tasks are queued every queued task is a
 * full TaskRecord, as on the hot path. Past HOT_QUEUED_MAX queued tasks, a
 * task newly admitted into a store that keeps it on disk (`TaskStore.cold`:
 * SQLite) is queued as a `ColdTask`: only what scheduling reads (id, seq,
 * priority, requirement, tenant, session, created time, queue timeout, input
 * bytes), about a tenth of a record; the store drops the record once it is
 * on disk and reads it back, many ids in one statement, when the task is
 * dispatched or asked for by id (get, cancel, retry, watchers...). A record
 * read back is live in the store again (the same object for every later
 * read). Restore after a restart queues the same compact entries
 * (`ColdTaskStore.takeColdQueued`), so a restart never builds a record per
 * queued task either.
 *
 * A cold task's queue deadline is not in the Deadlines wheel (an entry costs
 * more than the compact entry itself) but in one heap of cold entries by due
 * time, checked after every run of the wheel; its payload bytes stay counted
 * in the budget's sums and are held by id again once it leaves the queue.
 */
import { requirementKey, type Requirement } from '../../common/task-kinds.js';
import type { Logger } from '../../common/logger.js';
import type { Capacity } from '../scheduling/capacity.js';
import type { Match } from '../scheduling/scheduler.js';
import type { ColdQueuedRow, ColdTaskStore, TaskStore } from '../store/task-store.js';
import { BinaryHeap } from './binary-heap.js';
import type { PayloadBudget } from './payload-budget.js';
import type { TaskQueue } from './task-queue.js';
import type { TaskRecord } from './task-record.js';
import { exposeGc, type Gc } from '../observability/heap-guard.js';

/** What the compact entries need of TaskService (its public surface). */
export interface ColdTasksHost {
  readonly store: TaskStore;
  readonly queue: TaskQueue<TaskRecord>;
  readonly budget: PayloadBudget;
  readonly capacity: Capacity;
  readonly log: Logger;
  finish(task: TaskRecord, status: 'expired', out: { error: { code: string; message: string } }): void;
  kick(): void;
}

/**
 * Queued tasks kept as full records; beyond it new ones are compact (a few
 * tens of MiB of records, so the hot path at normal backlogs is unchanged).
 * A constant for now: a candidate for an option (TASKWIRE_HOT_QUEUED_MAX).
 */
export const HOT_QUEUED_MAX = 20_000;

/**
 * Compact admissions (or restores) between two full collections started
 * early (incremental, as observability/heap-guard.ts does): the records the
 * store drops once on disk are garbage V8's default heap growth lets pile up
 * to about the live size first. Measured with 1M queued (bench/backlog-memory.ts):
 * RSS 804 -> 560 MiB, heap committed 615 -> 394 MiB, for about 10 full
 * collections of a 300 MiB heap.
 */
const COLD_GC_EVERY = 100_000;

/** What compact entries of one requirement, tenant and owner share (one object for all of them). */
export interface ColdShape {
  readonly key: string;
  readonly kind: string;
  readonly requirement: Requirement;
  readonly tenant: string;
  readonly owner: string | null;
}

/**
 * A queued task as scheduling sees it. Read like a queued TaskRecord by the
 * queue, the scheduler and the queue's readers (metrics, autoscaler, cluster
 * view): the fields they read are here, the rest is on disk.
 */
export class ColdTask {
  /** Its place in the cold deadline heap (-1: none). */
  hi = -1;
  constructor(
    readonly id: string,
    readonly seq: number,
    readonly priority: number,
    readonly shape: ColdShape,
    readonly sessionId: string | null,
    readonly createdAtMs: number,
    readonly queueTimeoutMs: number,
    /** Its input's bytes in the payload budget (0: not counted, as after a restart). */
    readonly bytes: number,
  ) {}
  get key(): string {
    return this.shape.key;
  }
  get kind(): string {
    return this.shape.kind;
  }
  get requirement(): Requirement {
    return this.shape.requirement;
  }
  get tenant(): string {
    return this.shape.tenant;
  }
  get owner(): string | null {
    return this.shape.owner;
  }
  get status(): 'queued' {
    return 'queued';
  }
  get cancelRequested(): boolean {
    return false;
  }
}

/** A queue entry: the task, or its compact entry. */
export function isCold(t: unknown): t is ColdTask {
  return t instanceof ColdTask;
}

/** A match of the queue: a task, or its compact entry (read back before it is dispatched). */
type QueueMatch = Match<TaskRecord>;

/** The compact entries: when a task is queued as one, their shapes and queue deadlines, reading them back. */
export class ColdTasks {
  private readonly shapes = new Map<string, ColdShape>();
  private readonly due = new BinaryHeap<ColdTask>((a, b) => a.createdAtMs + a.queueTimeoutMs < b.createdAtMs + b.queueTimeoutMs, {
    set: (t, i) => (t.hi = i),
    get: (t) => t.hi,
  });

  private readonly store: ColdTaskStore | undefined;

  constructor(
    private readonly host: ColdTasksHost,
    /** The budget's owner of tasks with none. */
    private readonly anonymousOwner: string,
    private readonly hotMax = HOT_QUEUED_MAX,
  ) {
    this.store = host.store.cold;
    host.queue.onLeave = (t) => {
      if (isCold(t)) this.left(t);
    };
  }

  /** Compact entries with a queue deadline pending. */
  get deadlines(): number {
    return this.due.size;
  }

  /**
   * The compact entry to queue for a task just created, when the queue is
   * past HOT_QUEUED_MAX and the store keeps the task on disk (it is put, its
   * bytes counted; the store drops the record once written); undefined: put
   * and queue the record itself. A task with secrets is never compact (they
   * are never stored).
   */
  admit(t: TaskRecord, bytes: number): TaskRecord | undefined {
    const store = this.store;
    if (!store || this.host.queue.size < this.hotMax || t.secrets !== null) return undefined;
    this.host.budget.reserveCold(t.owner ?? this.anonymousOwner, bytes);
    store.putCold(t);
    return this.of(t, bytes) as unknown as TaskRecord;
  }

  /**
   * The round's matches with every compact entry replaced by its record, read
   * back in one statement. At most `max` matches are taken from the
   * scheduler, as the round would take. Without compact entries queued the
   * matches pass through as they come (the hot path).
   */
  records(matches: Iterable<QueueMatch>, max: number): Iterable<QueueMatch> {
    if (!this.store || this.coldQueued === 0) return matches;
    const out: QueueMatch[] = [];
    const ids: string[] = [];
    for (const m of matches) {
      out.push(m);
      if (isCold(m.task)) ids.push(m.task.id);
      if (out.length >= max) break;
    }
    if (ids.length === 0) return out;
    const read = this.store.getMany(ids);
    const kept: QueueMatch[] = [];
    for (const m of out) {
      const cold = isCold(m.task) ? (m.task as ColdTask) : undefined;
      if (!cold) {
        kept.push(m);
        continue;
      }
      const t = read.get(cold.id);
      if (!t || t.status !== 'queued') {
        // Gone from the store (pruned, changed since): its slot goes back.
        this.host.capacity.release(m.worker, cold.id, 'cancelled');
        this.host.log.warn({ task_id: cold.id }, 'a queued task kept on disk could not be read back; not dispatched');
        continue;
      }
      if (cold.bytes > 0) t.inputBytes ??= cold.bytes;
      kept.push({ task: t, worker: m.worker });
    }
    if (out.length >= max && kept.length < max) this.host.kick(); // a full round with some left out: the rest next turn
    return kept;
  }

  /** Compact entries in the queue now. */
  private coldQueued = 0;

  /** Queues the queued tasks the store left on disk at restore; how many. */
  restore(): number {
    if (!this.store) return 0;
    let n = 0;
    const parse = (text: string) => {
      const requirement = JSON.parse(text) as Requirement;
      return { requirement, key: requirementKey(requirement) };
    };
    for (const r of this.store.coldQueued()) {
      this.host.queue.push(this.fromRow(r, parse) as unknown as TaskRecord);
      n++;
    }
    return n;
  }

  /** Expires the compact entries whose queue deadline passed (after each run of the deadline wheel). */
  expireDue(now: number): void {
    for (const c of this.takeDue(now)) {
      const host = this.host;
      if (host.queue.get(c.id) !== (c as unknown)) continue;
      const task = host.store.get(c.id);
      host.queue.remove(c.id);
      if (!task || task.status !== 'queued') continue;
      host.finish(task, 'expired', { error: { code: 'QUEUE_TIMEOUT', message: `no worker took it within ${task.queueTimeoutMs} ms (queue timeout)` } });
    }
  }

  private shape(requirement: Requirement, key: string, tenant: string, owner: string | null): ColdShape {
    const k = `${key}\n${tenant}\n${owner ?? ''}`;
    let s = this.shapes.get(k);
    if (!s) this.shapes.set(k, (s = { key, kind: requirement.kind, requirement, tenant, owner }));
    return s;
  }

  /** The compact entry of a task just admitted (its record goes to the store). */
  private of(t: TaskRecord, bytes: number): ColdTask {
    return this.track(new ColdTask(t.id, t.seq, t.priority, this.shape(t.requirement, t.key, t.tenant, t.owner), t.sessionId, t.createdAtMs, t.queueTimeoutMs, bytes));
  }

  /** The compact entry of a queued task restored from the store. */
  private fromRow(r: ColdQueuedRow, parse: (requirement: string) => { requirement: Requirement; key: string }): ColdTask {
    let s = this.shapes.get(`\0${r.requirement}\n${r.tenant}\n${r.owner ?? ''}`);
    if (!s) {
      const { requirement, key } = parse(r.requirement);
      s = this.shape(requirement, key, r.tenant, r.owner);
      this.shapes.set(`\0${r.requirement}\n${r.tenant}\n${r.owner ?? ''}`, s);
    }
    return this.track(new ColdTask(r.id, r.seq, r.priority, s, r.sessionId, r.createdAtMs, r.queueTimeoutMs, 0));
  }

  private sinceGc = 0;
  private gc: Gc | undefined;

  private track(c: ColdTask): ColdTask {
    this.coldQueued++;
    if (++this.sinceGc >= COLD_GC_EVERY) {
      this.sinceGc = 0;
      (this.gc ??= exposeGc())({ type: 'major', execution: 'async' });
    }
    if (c.queueTimeoutMs > 0) this.due.push(c);
    return c;
  }

  /** The entry left the queue (taken or removed): its deadline no longer applies, its bytes are held by its id again. */
  private left(c: ColdTask): void {
    this.coldQueued--;
    if (c.hi >= 0) this.due.remove(c);
    if (c.bytes > 0) this.host.budget.hold(c.id, c.owner ?? this.anonymousOwner, c.bytes);
  }

  /** Takes the entries whose queue deadline passed by `now`, earliest first. */
  private takeDue(now: number): ColdTask[] {
    const out: ColdTask[] = [];
    for (let top = this.due.peek(); top !== undefined && top.createdAtMs + top.queueTimeoutMs <= now; top = this.due.peek()) {
      this.due.pop();
      out.push(top);
    }
    return out;
  }
}
