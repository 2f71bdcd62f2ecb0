/**
 * Pending tasks, one priority queue per requirement key (kind [+ model]).
 * Higher `priority` first; FIFO within a priority by admission sequence, so a
 * re-queued task keeps its place. Removal is lazy (cancel marks, pop skips).
 */
import { BinaryHeap } from './binary-heap.js';

export interface QueuedTask {
  readonly id: string;
  readonly key: string;
  readonly priority: number;
  /** Admission order; lower runs first within a priority. */
  readonly seq: number;
}

function before(a: QueuedTask, b: QueuedTask): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

export class TaskQueue<T extends QueuedTask = QueuedTask> {
  private readonly heaps = new Map<string, BinaryHeap<T>>();
  /** ids currently queued (lazy deletion: an id not here is skipped on pop). */
  private readonly live = new Map<string, T>();

  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  push(task: T): void {
    if (this.live.has(task.id)) return;
    let heap = this.heaps.get(task.key);
    if (!heap) {
      heap = new BinaryHeap<T>(before);
      this.heaps.set(task.key, heap);
    }
    heap.push(task);
    this.live.set(task.id, task);
  }

  remove(id: string): boolean {
    return this.live.delete(id);
  }

  /** Number of live tasks per key (for status and metrics). */
  depthByKey(): Map<string, number> {
    const out = new Map<string, number>();
    for (const t of this.live.values()) out.set(t.key, (out.get(t.key) ?? 0) + 1);
    return out;
  }

  private head(key: string): T | undefined {
    const heap = this.heaps.get(key);
    if (!heap) return undefined;
    for (;;) {
      const top = heap.peek();
      if (top === undefined) {
        this.heaps.delete(key);
        return undefined;
      }
      if (this.live.get(top.id) === top) return top;
      heap.pop(); // cancelled or re-queued under a newer entry
    }
  }

  /** The task that should run next among keys not in `exclude`. */
  best(exclude?: ReadonlySet<string>): T | undefined {
    let best: T | undefined;
    for (const key of [...this.heaps.keys()]) {
      if (exclude?.has(key)) continue;
      const h = this.head(key);
      if (h && (best === undefined || before(h, best))) best = h;
    }
    return best;
  }

  /** Removes and returns the head of `key`. */
  take(key: string): T | undefined {
    const h = this.head(key);
    if (!h) return undefined;
    this.heaps.get(key)!.pop();
    this.live.delete(h.id);
    return h;
  }
}
