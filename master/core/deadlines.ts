/**
 * Task deadlines (queue timeout, lease/heartbeat expiry, run timeout, retry
 * backoff, cancel grace) in one min-heap, checked by a single unref'd timer.
 * The handler checks that a due entry still applies (same attempt, lease not
 * renewed), so renewals need no removal; `clear()` drops a task's entries
 * when they can no longer apply (the task finished, its attempt ended), so
 * the heap holds only live tasks' deadlines, not hours of dead ones.
 */
import type { Clock } from '../../common/clock.js';
import { BinaryHeap } from './binary-heap.js';

export type DeadlineKind = 'queue' | 'lease' | 'run' | 'retry' | 'cancel';

export interface Deadline {
  atMs: number;
  taskId: string;
  kind: DeadlineKind;
  attempt: number;
}

type Entry = Deadline & { heapIndex: number };

export class Deadlines {
  private readonly heap = new BinaryHeap<Entry>((a, b) => a.atMs < b.atMs, {
    set: (e, i) => (e.heapIndex = i),
    get: (e) => e.heapIndex,
  });
  /** Pending entries per task. */
  private readonly byTask = new Map<string, Entry[]>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (d: Deadline) => void,
    private readonly tickMs = 50,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  add(d: Deadline): void {
    const e: Entry = { atMs: d.atMs, taskId: d.taskId, kind: d.kind, attempt: d.attempt, heapIndex: -1 };
    this.heap.push(e);
    const list = this.byTask.get(d.taskId);
    if (list) list.push(e);
    else this.byTask.set(d.taskId, [e]);
  }

  /** Drops a task's pending deadlines (of the given kinds, or all). */
  clear(taskId: string, kinds?: readonly DeadlineKind[]): void {
    const list = this.byTask.get(taskId);
    if (!list) return;
    const keep: Entry[] = [];
    for (const e of list) {
      if (kinds && !kinds.includes(e.kind)) keep.push(e);
      else this.heap.remove(e);
    }
    if (keep.length > 0) this.byTask.set(taskId, keep);
    else this.byTask.delete(taskId);
  }

  private forget(e: Entry): void {
    const list = this.byTask.get(e.taskId);
    if (!list) return;
    const i = list.indexOf(e);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byTask.delete(e.taskId);
  }

  /** Fires every due entry (also callable directly by tests with a fake clock). */
  runDue(): number {
    const now = this.clock.now();
    let n = 0;
    for (let top = this.heap.peek(); top !== undefined && top.atMs <= now; top = this.heap.peek()) {
      this.heap.pop();
      this.forget(top);
      this.onDue(top);
      n++;
    }
    return n;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.runDue(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Exponential backoff with full jitter in [base/2, base] * 2^(attempt-1), capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
