/** The listing of image batches (GET /api/v1/batches): pages from each store's (tenant/owner/status, created, id) index. */
import { decodeBatchCursor, encodeBatchCursor, type BatchStatus, type BatchStore, type StoredBatch } from './batch-store.js';
import type { BatchSummary, BatchView } from './batch-view.js';

export interface BatchPage {
  batches: BatchSummary[];
  /** Where the next page starts, or null after the last one. */
  next_cursor: string | null;
}

export interface BatchListRequest {
  /** Scope: a tenant (undefined: every tenant) and a user key's own batches (its user's key ids). */
  tenant?: string;
  owners?: readonly string[];
  status?: BatchStatus;
  /** next_cursor of the previous page (a bad one is a ValidationError naming `cursor`). */
  cursor?: string;
  limit: number;
}

/**
 * A page of batches, newest first, from the store's index. Another
 * master's batches (several masters) are read from the store in one go; a
 * row whose batch is gone meanwhile (pruned at this moment) is left out.
 */
export async function listBatches(store: BatchStore, held: ReadonlyMap<string, StoredBatch>, view: (batch: StoredBatch) => BatchView, r: BatchListRequest): Promise<BatchPage> {
  const before = r.cursor === undefined ? undefined : decodeBatchCursor(r.cursor);
  const ids = (await store.list({ tenant: r.tenant, owners: r.owners, status: r.status, before, limit: r.limit + 1 }));
  const more = ids.length > r.limit;
  const shown = ids.slice(0, r.limit);
  const missing = shown.filter((id) => !held.has(id));
  const read = new Map(missing.length > 0 && store.read ? (await store.read(missing)).map((b) => [b.id, b] as const) : []);
  const page = shown.flatMap((id) => {
    const b = held.get(id) ?? read.get(id);
    return b ? [b] : [];
  });
  const last = page.at(-1);
  const batches = page.map((b) => {
    const { images: _images, ...summary } = view(b);
    return summary;
  });
  return { batches, next_cursor: more && last ? encodeBatchCursor({ createdAtMs: last.createdAtMs, id: last.id }) : null };
}
