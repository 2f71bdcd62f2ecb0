/**
 * A batch's progress on the task event stream (docs/EVENTS.md): `batch.image`
 * when an image starts, ends or is queued again, `batch.finished` at fan-in,
 * each with the batch's counts after it (images' statuses read live). Built
 * when asked, published once the task event that caused it has reached every
 * listener, so the stream shows the task's event first.
 */
import type { BatchEventFields, EventSubject, TaskEventBodies, TaskEvents } from '../core/task-events.js';
import { batchStatus, type StoredBatch, type StoredItem } from './batch-store.js';
import type { LiveStatus } from './batch-view.js';

export class BatchProgress {
  constructor(
    private readonly events: TaskEvents,
    private readonly liveStatus: LiveStatus,
  ) {}

  /** The `batch.image` event of item `idx` of `batch` as it is now (nothing when nobody listens). */
  image(item: StoredItem, batch: StoredBatch, idx: number): void {
    if (!this.events.wants('batch.image')) return;
    const { status, runningOn } = this.liveStatus(item);
    this.publishLater(
      'batch.image',
      {
        ...this.batchFields(batch),
        task_id: item.taskId,
        index: idx,
        name: item.name,
        status,
        attempt: item.attempts,
        cached: item.cached,
        worker_id: item.workerId ?? runningOn,
        output_blob: item.output?.blob ?? null,
        ms: status === 'succeeded' || status === 'failed' ? item.ms : null,
        error: item.error,
      },
      batch,
    );
  }

  /** The `batch.finished` event of a batch that just finished, `ms` after it was made (nothing when nobody listens). */
  finished(batch: StoredBatch, ms: number): void {
    if (!this.events.wants('batch.finished')) return;
    const status = batchStatus(batch) === 'failed' ? 'failed' : 'succeeded';
    this.publishLater('batch.finished', { ...this.batchFields(batch), status, ms }, batch);
  }

  private batchFields(batch: StoredBatch): BatchEventFields {
    const counts = { total: batch.items.length, queued: 0, running: 0, succeeded: 0, failed: 0 };
    for (const i of batch.items) counts[this.liveStatus(i).status]++;
    return { batch_id: batch.id, owner: batch.caller.owner ?? null, counts };
  }

  private publishLater<T extends 'batch.image' | 'batch.finished'>(type: T, body: TaskEventBodies[T], batch: StoredBatch): void {
    const subject = { tenant: batch.caller.tenant ?? 'default' } as EventSubject<T>;
    queueMicrotask(() => this.events.publish(type, body, subject));
  }
}
