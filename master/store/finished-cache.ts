/**
 * A task store's most recent finished tasks in memory (the SQLite and the
 * PostgreSQL store's; their disk copy stays, and get() or preload() reads
 * older ones back), bounded by count and by the bytes of their input and
 * result (payload-bytes.ts).
 */
import type { TaskRecord } from '../core/task-record.js';
import { Fifo } from '../core/fifo.js';
import { approxPayloadBytes } from './payload-bytes.js';

export class FinishedCache {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly order = new Fifo<string>();
  /** Estimated payload bytes of each cached task, and their sum. */
  private readonly bytes = new Map<string, number>();
  private bytesTotal = 0;

  constructor(
    private readonly maxTasks: number,
    private readonly maxBytes: number,
    /** Told of every task the cache lets go (the store's idempotency index). */
    private readonly onForget: (t: TaskRecord) => void,
  ) {}

  get payloadBytes(): number {
    return this.bytesTotal;
  }

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  has(id: string): boolean {
    return this.tasks.has(id);
  }

  values(): IterableIterator<TaskRecord> {
    return this.tasks.values();
  }

  /** Keeps a task that just finished; the oldest go past either bound (at least one stays). */
  add(task: TaskRecord): void {
    if (!this.tasks.has(task.id)) this.order.push(task.id);
    this.tasks.set(task.id, task);
    const bytes = approxPayloadBytes(task.input) + approxPayloadBytes(task.result);
    this.bytesTotal += bytes - (this.bytes.get(task.id) ?? 0);
    this.bytes.set(task.id, bytes);
    while (this.tasks.size > this.maxTasks || (this.bytesTotal > this.maxBytes && this.tasks.size > 1)) this.forget(this.order.shift()!);
  }

  /** Drops a task from memory (it stays on disk until pruned). */
  forget(id: string): void {
    const t = this.tasks.get(id);
    if (!t) return;
    this.tasks.delete(id);
    this.bytesTotal -= this.bytes.get(id) ?? 0;
    this.bytes.delete(id);
    this.onForget(t);
  }

  /** Drops the tasks finished before the cutoff (the result TTL). */
  forgetBefore(finishedBeforeMs: number): void {
    for (const [id, t] of this.tasks) if ((t.finishedAtMs ?? 0) < finishedBeforeMs) this.forget(id);
  }
}
