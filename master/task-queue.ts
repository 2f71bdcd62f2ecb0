/**
 * Pending tasks, one priority queue per requirement key (kind [+ model]).
 * Higher `priority` first; FIFO within a priority by admission sequence, so a
 * re-queued task keeps its place. Removal is lazy (cancel marks, pop skips).
 */
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

/** Binary min-heap on `before`. */
class TaskHeap<T extends QueuedTask> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

export class TaskQueue<T extends QueuedTask = QueuedTask> {
  private readonly heaps = new Map<string, TaskHeap<T>>();
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
      heap = new TaskHeap<T>();
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
