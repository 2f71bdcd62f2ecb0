/**
 * `taskwire store migrate`, the batches' part: copies the data dir's image
 * batches (`batches.db`, sqlite-batch-store.ts) into the PostgreSQL tables
 * masters on that database keep them in (postgres-batch-store.ts), so the
 * batches submitted before the move are still listed, their progress and
 * outputs read. Written with the PostgreSQL store's own statements, inside
 * the migration's transaction.
 *
 * No holder: a batch is copied with `master` NULL (column and record). A
 * single master on the database restores every batch; with several masters
 * an unfinished batch with no holder is taken over by one live master
 * (batch-service.ts), as a dead master's is.
 *
 * Idempotent: a batch already on the target is kept as it is (header and
 * items), whatever its state there: a master that ran on the database since
 * may have moved it on. So a repeated run copies nothing twice.
 */
import { existsSync } from 'node:fs';
import type pg from 'pg';
import type { StoredBatch } from './batch-store.js';
import { existingBatchIds, insertBatches } from './postgres-batch-store.js';
import { readBatchFile } from './sqlite-batch-store.js';

/** Batches per write (their items go in the same statements). */
const BATCHES_PER_WRITE = 100;

export interface BatchCopyCounts {
  /** Batches in the data dir. */
  batches: number;
  /** Of those, new on the target this run (the others were there and kept). */
  batches_copied: number;
  /** The images (items) of the data dir's batches (copied, or already on the target). */
  batch_items: number;
}

/** Copies the batches of `file` (a data dir's `batches.db`); run inside the caller's transaction. Undefined when there is no such file. */
export async function copyBatchFile(client: pg.ClientBase, file: string): Promise<BatchCopyCounts | undefined> {
  if (!existsSync(file)) return undefined;
  const batches = readBatchFile(file).map(withoutHolder);
  const out: BatchCopyCounts = { batches: batches.length, batches_copied: 0, batch_items: 0 };
  for (let i = 0; i < batches.length; i += BATCHES_PER_WRITE) {
    const slice = batches.slice(i, i + BATCHES_PER_WRITE);
    const there = await existingBatchIds(client, slice.map((b) => b.id));
    const fresh = slice.filter((b) => !there.has(b.id));
    await insertBatches(client, fresh);
    out.batches_copied += fresh.length;
    for (const b of slice) out.batch_items += b.items.length;
  }
  return out;
}

/** The batch with no holding master (a single master's has none; dropped should a file carry one). */
function withoutHolder(b: StoredBatch): StoredBatch {
  const { master: _, ...rest } = b;
  return rest;
}
