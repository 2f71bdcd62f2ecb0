/**
 * Task deadlines (queue timeout, lease/heartbeat expiry, run timeout, retry
 * backoff, cancel grace) in one min-heap, checked by a single unref'd timer.
 * Entries are never removed: the handler checks that an entry still applies
 * (same attempt, lease not renewed), which keeps renewals O(log n).
 */
import type { Clock } from '../common/clock.js';
import { BinaryHeap } from './binary-heap.js';

export type DeadlineKind = 'queue' | 'lease' | 'run' | 'retry' | 'cancel';

export interface Deadline {
  atMs: number;
  taskId: string;
  kind: DeadlineKind;
  attempt: number;
}

export class Deadlines {
  private readonly heap = new BinaryHeap<Deadline>((a, b) => a.atMs < b.atMs);
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
    this.heap.push(d);
  }

  /** Fires every due entry (also callable directly by tests with a fake clock). */
  runDue(): number {
    const now = this.clock.now();
    let n = 0;
    for (let top = this.heap.peek(); top !== undefined && top.atMs <= now; top = this.heap.peek()) {
      this.heap.pop();
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
