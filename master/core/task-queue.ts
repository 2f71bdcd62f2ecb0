/**
 * Pending tasks, one priority queue per requirement key (kind [+ model]).
 * Higher `priority` first; FIFO within a priority by admission sequence, so a
 * re-queued task keeps its place. Removal is lazy (cancel marks, pop skips).
 *
 * Positions: besides the heaps, each key keeps its live tasks' admission
 * seqs sorted per priority (queue-ranks.ts), so `position(id)` (how many run
 * before it) costs O(k + log n) for k distinct priorities, never a sort.
 *
 * Within a priority the order is a QueueOrder's tags (queue-order.ts): FIFO
 * by default, weighted-fair across tenants with TASKWIRE_FAIR_SHARE (then
 * positions still count in admission order, an upper bound for a tenant
 * that gets ahead of a backlog).
 */
import { BinaryHeap } from './binary-heap.js';
import { KeyRanks } from './queue-ranks.js';
import { FIFO_ORDER, type QueueOrder } from './queue-order.js';

export interface QueuedTask {
  readonly id: string;
  readonly key: string;
  readonly priority: number;
  /** Admission order; lower runs first within a priority. */
  readonly seq: number;
}

/** A heap entry: the task and its tag (fixed when queued). */
interface Entry<T> {
  readonly t: T;
  readonly tag: number;
}

function before(a: Entry<QueuedTask>, b: Entry<QueuedTask>): boolean {
  if (a.t.priority !== b.t.priority) return a.t.priority > b.t.priority;
  return a.tag !== b.tag ? a.tag < b.tag : a.t.seq < b.t.seq;
}

export class TaskQueue<T extends QueuedTask = QueuedTask> {
  private readonly heaps = new Map<string, BinaryHeap<Entry<T>>>();
  private order: QueueOrder<T> = FIFO_ORDER;
  /** ids currently queued (lazy deletion: an id not here is skipped on pop). */
  private readonly live = new Map<string, T>();
  /** Sorted seqs per priority, per key (for positions). */
  private readonly ranks = new Map<string, KeyRanks>();
  /** Told of every task that leaves the queue (taken or removed); the core's compact entries use it (cold-tasks.ts). */
  onLeave: ((t: T) => void) | undefined;

  get size(): number {
    return this.live.size;
  }

  /** The order within a priority (FIFO by default); set while the queue is empty. */
  useOrder(order: QueueOrder<T>): void {
    if (this.live.size > 0) throw new Error('the queue order is set before any task is queued');
    this.order = order;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  /** The queued entry of `id` (the task, or its compact entry: cold-tasks.ts), or undefined. */
  get(id: string): T | undefined {
    return this.live.get(id);
  }

  push(task: T): void {
    if (this.live.has(task.id)) return;
    let heap = this.heaps.get(task.key);
    if (!heap) {
      heap = new BinaryHeap<Entry<T>>(before);
      this.heaps.set(task.key, heap);
    }
    heap.push({ t: task, tag: this.order.tag(task) });
    this.live.set(task.id, task);
    let r = this.ranks.get(task.key);
    if (!r) this.ranks.set(task.key, (r = new KeyRanks()));
    r.add(task.priority, task.seq);
  }

  remove(id: string): boolean {
    const t = this.live.get(id);
    if (!t) return false;
    this.live.delete(id);
    this.unrank(t);
    this.onLeave?.(t);
    return true;
  }

  private unrank(t: T): void {
    const r = this.ranks.get(t.key);
    if (!r) return;
    r.delete(t.priority, t.seq);
    if (r.size === 0) this.ranks.delete(t.key);
  }

  /**
   * How many queued tasks of its key run before `id` (higher priority first,
   * FIFO within a priority); undefined when it is not queued.
   */
  position(id: string): number | undefined {
    const t = this.live.get(id);
    if (!t) return undefined;
    return this.ranks.get(t.key)?.rank(t.priority, t.seq);
  }

  /** How many queued tasks of `key` would run before a new task of `priority` (all of higher or equal priority). */
  aheadOf(key: string, priority: number): number {
    return this.ranks.get(key)?.atLeast(priority) ?? 0;
  }

  /** Number of queued tasks of one key, O(1). */
  depth(key: string): number {
    return this.ranks.get(key)?.size ?? 0;
  }

  /** The queued tasks, in no particular order (metrics). */
  values(): IterableIterator<T> {
    return this.live.values();
  }

  /** Number of live tasks per key (for status, metrics and multi-master claims), O(keys): the ranks count them. */
  depthByKey(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, r] of this.ranks) out.set(key, r.size);
    return out;
  }

  private head(key: string): Entry<T> | undefined {
    const heap = this.heaps.get(key);
    if (!heap) return undefined;
    for (;;) {
      const top = heap.peek();
      if (top === undefined) {
        this.heaps.delete(key);
        return undefined;
      }
      if (this.live.get(top.t.id) === top.t) return top;
      heap.pop(); // cancelled or re-queued under a newer entry
    }
  }

  /** The task that should run next among keys not in `exclude`. */
  best(exclude?: ReadonlySet<string>): T | undefined {
    let best: Entry<T> | undefined;
    for (const key of [...this.heaps.keys()]) {
      if (exclude?.has(key)) continue;
      const h = this.head(key);
      if (h && (best === undefined || before(h, best))) best = h;
    }
    return best?.t;
  }

  /** Removes and returns the head of `key`. */
  take(key: string): T | undefined {
    const h = this.head(key);
    if (!h) return undefined;
    this.heaps.get(key)!.pop();
    this.live.delete(h.t.id);
    this.unrank(h.t);
    this.order.taken(h.t, h.tag);
    this.onLeave?.(h.t);
    return h.t;
  }
}
