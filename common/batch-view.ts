/**
 * The JSON of an image batch, as the master answers it and the web UI reads
 * it: `GET /api/v1/batches/:id` (BatchView, with its images) and an item of
 * `GET /api/v1/batches` (BatchSummary, without them). Types only, declared
 * once for both sides.
 */
import type { ImageOp } from './kinds/image.js';

/** A batch's own status. */
export const BATCH_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/** An image's status in its batch (`running` while its task runs). */
export type BatchItemStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** One image of a batch. */
export interface BatchImageView {
  name: string;
  input_blob: string;
  status: BatchItemStatus;
  task_id: string | null;
  attempts: number;
  cached: boolean;
  output_blob: string | null;
  bytes: number | null;
  width: number | null;
  height: number | null;
  content_type: string | null;
  ms: number | null;
  worker_id: string | null;
  error: { code: string; message: string } | null;
}

export interface BatchView {
  id: string;
  status: BatchStatus;
  created_at_ms: number;
  finished_at_ms: number | null;
  counts: Record<BatchItemStatus, number> & { total: number };
  ops: ImageOp[];
  images: BatchImageView[];
}

/** A batch in the listing: what a list of batches shows, without the per-image list. */
export type BatchSummary = Omit<BatchView, 'images'>;
