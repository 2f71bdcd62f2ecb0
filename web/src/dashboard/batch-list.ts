/**
 * The batch list's pure logic (no DOM: the tests import it directly): the
 * summary shape GET /api/v1/batches answers, its order, and how a re-read
 * first page is folded into the rows already loaded, so the live refresh
 * costs one page however many "Load more" pages are open.
 */
import { BATCH_STATUSES, type BatchStatus, type BatchSummary } from '../../../common/batch-view.js';

export { BATCH_STATUSES, type BatchStatus, type BatchSummary };

/** True when `a` comes after `b` in the listing (newest first by created time, then id descending: the route's order). */
export function olderThan(a: BatchSummary, b: BatchSummary): boolean {
  return a.created_at_ms < b.created_at_ms || (a.created_at_ms === b.created_at_ms && a.id < b.id);
}

/** Rows loaded so far and the cursor of the page after them (null: the list's end). */
export interface LoadedBatches {
  rows: BatchSummary[];
  cursor: string | null;
}

/**
 * The loaded rows after re-reading the first page: the first page replaces
 * every loaded row in its range (an updated batch, a new one, one that left
 * the status filter or was pruned), and the rows of later pages, older than
 * its last item, stay as loaded, with the cursor after them. Without a next
 * page the first page is the whole list.
 */
export function foldFirstPage(loaded: LoadedBatches, first: readonly BatchSummary[], firstCursor: string | null): LoadedBatches {
  const last = first.at(-1);
  if (firstCursor === null || last === undefined) return { rows: [...first], cursor: null };
  const older = loaded.rows.filter((b) => olderThan(b, last));
  return { rows: [...first, ...older], cursor: older.length > 0 ? loaded.cursor : firstCursor };
}

/** The rows the live refresh can update: those within the first page's range (the first `firstCount`). */
export function anyRunning(rows: readonly BatchSummary[], firstCount: number): boolean {
  return rows.slice(0, firstCount).some((b) => b.status === 'running');
}

/** The chain in one line: `resize → blur → format`. */
export function chainLabel(ops: readonly { op: string }[]): string {
  return ops.length === 0 ? '–' : ops.map((o) => o.op).join(' → ');
}

/** Images finished (succeeded or failed) of the total, for the progress bar. */
export function finished(b: BatchSummary): number {
  return b.counts.succeeded + b.counts.failed;
}
