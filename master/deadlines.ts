/**
 * Task deadlines (queue timeout, lease/heartbeat expiry, run timeout, retry
 * backoff, cancel grace) in one min-heap, checked by a single unref'd timer.
 * Entries are never removed: the handler checks that an entry still applies
 * (same attempt, lease not renewed), which keeps renewals O(log n).
 */
import type { Clock } from '../common/clock.js';

export type DeadlineKind = 'queue' | 'lease' | 'run' | 'retry' | 'cancel';

export interface Deadline {
  atMs: number;
  taskId: string;
  kind: DeadlineKind;
  attempt: number;
}

export class Deadlines {
  private readonly heap: Deadline[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (d: Deadline) => void,
    private readonly tickMs = 50,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(d: Deadline): void {
    const a = this.heap;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.atMs <= a[i]!.atMs) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  private pop(): Deadline | undefined {
    const a = this.heap;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.atMs < a[m]!.atMs) m = l;
        if (r < a.length && a[r]!.atMs < a[m]!.atMs) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  /** Fires every due entry (also callable directly by tests with a fake clock). */
  runDue(): number {
    const now = this.clock.now();
    let n = 0;
    while (this.heap.length > 0 && this.heap[0]!.atMs <= now) {
      this.onDue(this.pop()!);
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
