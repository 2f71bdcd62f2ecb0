/**
 * What callers are shown of an image batch: the view with its per-image list
 * (GET /api/v1/batches/:id), the listing's summary (batch-listing.ts), and a
 * batch found wherever it is held. An image's status is read live (`running` off
 * its task) through the `LiveStatus` the batch service passes.
 */
import type { BatchView } from '../../common/batch-view.js';
import { batchStatus, type ItemStatus, type StoredBatch, type StoredItem } from './batch-store.js';

export type { BatchSummary, BatchView } from '../../common/batch-view.js';

/** A batch as a caller may be shown it, wherever it is held. */
export interface FoundBatch {
  view: BatchView;
  tenant: string;
  owner: string | null;
  /** Held by another master (several masters): shown as that master last wrote it; changed only through it. */
  elsewhere: string | null;
}

/** An item's status with `running` read off its task (the row keeps queued until the task ends), and the worker it runs on. */
export type LiveStatus = (item: StoredItem) => { status: ItemStatus; runningOn: string | null };

/** The view of a batch, its images' statuses as `liveStatus` reads them. */
export function batchView(batch: StoredBatch, liveStatus: LiveStatus): BatchView {
  const counts = { total: batch.items.length, queued: 0, running: 0, succeeded: 0, failed: 0 };
  const images = batch.items.map((i) => {
    const { status, runningOn } = liveStatus(i);
    counts[status]++;
    const o = i.output;
    return {
      name: i.name,
      input_blob: i.blob,
      status,
      task_id: i.taskId,
      attempts: i.attempts,
      cached: i.cached,
      output_blob: o?.blob ?? null,
      bytes: o?.bytes ?? null,
      width: o?.width ?? null,
      height: o?.height ?? null,
      content_type: o?.content_type ?? null,
      ms: i.ms,
      worker_id: i.workerId ?? runningOn,
      error: i.error,
    };
  });
  return {
    id: batch.id,
    status: batchStatus(batch),
    created_at_ms: batch.createdAtMs,
    finished_at_ms: batch.finishedAtMs,
    counts,
    ops: batch.ops,
    images,
  };
}
