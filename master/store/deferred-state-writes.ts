/**
 * A task store's state-only writes (assigned, running; the SQLite and the
 * PostgreSQL store's) waiting for STATE_WRITE_DELAY_MS
 * (sqlite-task-store-options.ts): most attempts finish
 * first and their final row covers them. Oldest first; one timer for all.
 */
import type { TaskRecord } from '../core/task-record.js';
import { STATE_WRITE_DELAY_MS } from './sqlite-task-store-options.js';

export class DeferredStateWrites {
  /** Task id -> the task and performance.now() of its first change. */
  private readonly waiting = new Map<string, { task: TaskRecord; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `due(task)` is told of each write whose delay is over. */
  constructor(private readonly due: (task: TaskRecord) => void, private readonly afterDue: () => void) {}

  get size(): number {
    return this.waiting.size;
  }

  has(id: string): boolean {
    return this.waiting.has(id);
  }

  delete(id: string): void {
    this.waiting.delete(id);
  }

  *tasks(): Generator<TaskRecord> {
    for (const { task } of this.waiting.values()) yield task;
  }

  /** Waits for the delay unless a write of the task is waiting already. */
  add(task: TaskRecord): void {
    if (this.waiting.has(task.id)) return;
    this.waiting.set(task.id, { task, since: performance.now() });
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    const oldest = this.waiting.values().next().value;
    if (!oldest) return;
    // At least a quarter of the delay between timer runs: a busy master
    // writes due states in batches, not one timer per task.
    const wait = Math.max(oldest.since + STATE_WRITE_DELAY_MS - performance.now(), STATE_WRITE_DELAY_MS / 4);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.takeDue(performance.now() - STATE_WRITE_DELAY_MS);
      this.arm();
    }, wait);
    this.timer.unref();
  }

  /** Hands over the writes deferred before `cutoff` (all when omitted). */
  takeDue(cutoff = Infinity): void {
    let moved = false;
    for (const [id, { task, since }] of this.waiting) {
      if (since > cutoff) break;
      this.waiting.delete(id);
      this.due(task);
      moved = true;
    }
    if (moved) this.afterDue();
  }

  /** Hands over every write left and stops the timer. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.takeDue();
  }
}
