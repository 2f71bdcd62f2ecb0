/**
 * Multi-master: snapshots of other masters' tasks (or tasks waiting in the
 * shared pool) read for a request, never written from here; at most
 * `max` kept, the oldest dropped, with their idempotency keys.
 */
import type { TaskRecord } from '../core/task-record.js';
import { Fifo } from '../core/fifo.js';

/** Tasks of other masters read for a request (multi-master), at most this many kept. */
const MAX_FOREIGN = 10_000;

export class ForeignTasks {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly order = new Fifo<string>();

  constructor(
    /** The store's idempotency index (key -> task id). */
    private readonly idem: Map<string, string>,
    private readonly max = MAX_FOREIGN,
  ) {}

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** Forgets a snapshot (its task is this master's now, or its newer row was read). */
  delete(id: string): void {
    this.tasks.delete(id);
  }

  add(t: TaskRecord): void {
    if (!this.tasks.has(t.id)) this.order.push(t.id);
    this.tasks.set(t.id, t);
    if (t.idempotencyKey) this.idem.set(t.idempotencyKey, t.id);
    while (this.tasks.size > this.max) {
      const old = this.order.shift()!;
      const f = this.tasks.get(old);
      this.tasks.delete(old);
      if (f?.idempotencyKey && this.idem.get(f.idempotencyKey) === old) this.idem.delete(f.idempotencyKey);
    }
  }
}
