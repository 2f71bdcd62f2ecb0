/**
 * State-only changes of tasks whose row is written already (assigned,
 * running): a pending write covers them, else they are written once the
 * first of them is `delayMs` old, so a short attempt costs no write of its
 * own between its submit and its final.
 */
import type { TaskRecord } from '../core/task-record.js';

export class DeferredStates {
  private readonly deferred = new Map<string, { task: TaskRecord; since: number }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly delayMs: number,
    /** Takes a due state write into the next batch. */
    private readonly write: (id: string, task: TaskRecord) => void,
    /** Called once after due writes were taken (schedules the flush). */
    private readonly flush: () => void,
  ) {}

  /** Defers the state write of `task` (the first deferral of it counts). */
  defer(task: TaskRecord): void {
    if (this.deferred.has(task.id)) return;
    this.deferred.set(task.id, { task, since: performance.now() });
    this.arm();
  }

  /** A full write of the task covers its deferred state. */
  delete(id: string): void {
    this.deferred.delete(id);
  }

  /** Writes every deferred state now and defers no more. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.writeDue();
    this.closed = true;
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    const oldest = this.deferred.values().next().value;
    if (!oldest) return;
    const wait = Math.max(oldest.since + this.delayMs - performance.now(), this.delayMs / 4);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writeDue(performance.now() - this.delayMs);
      this.arm();
    }, wait);
    this.timer.unref();
  }

  /** Takes the state writes deferred before `cutoff` (all when omitted). */
  private writeDue(cutoff = Infinity): void {
    let moved = false;
    for (const [id, { task, since }] of this.deferred) {
      if (since > cutoff) break;
      this.deferred.delete(id);
      this.write(id, task);
      moved = true;
    }
    if (moved) this.flush();
  }
}
