/**
 * `taskwire store migrate`, the blobs' part: copies the data dir's blob store
 * (blob-store.ts, `<data dir>/blobs`) into the PostgreSQL one that masters in
 * multi mode use (postgres-blob-store.ts), so the images, batches and image
 * tasks the migration carries over name blobs any master can serve. Each blob
 * keeps its id, bytes and content type; its grants and the recorded outputs
 * (an input and chain's digest -> the output) come along. Written with the
 * PostgreSQL store's own statements, inside the migration's transaction.
 *
 * Idempotent: a blob already on the target is kept as it is (its file is not
 * read again), as are grants and outputs already there, so a repeated run
 * copies nothing twice. A blob's file is read in pieces of a row (1 MiB), so
 * a large one never sits in memory whole; its digest is checked on the way,
 * and a file whose bytes do not match its name (damaged on disk) stops the
 * copy, naming it.
 *
 * Grants on disk are digests of the tenant's name (tenantMark): a grant is
 * copied for each tenant the caller names (the data dir's tenants) whose
 * digest it is; one of no such tenant cannot be named, is counted as
 * unmatched and not copied (that tenant no longer reads the blob).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type pg from 'pg';
import { TaskwireError } from '../../common/errors.js';
import { BlobStore, tenantMark } from './blob-store.js';
import { insertBlob, insertDerived, insertGrant } from './postgres-blob-store.js';

/** Read from the blob files per piece: one row of tw_blob_chunks. */
const PIECE_BYTES = 1024 * 1024;

export interface BlobCopyCounts {
  /** Blobs in the data dir. */
  blobs: number;
  /** Of those, new on the target this run (the others were there and kept). */
  blobs_copied: number;
  /** The bytes of the blobs copied. */
  blob_bytes_copied: number;
  /** Grants of a known tenant (copied, or already on the target). */
  blob_grants: number;
  /** Grants to no tenant of the data dir: not copied. */
  blob_grants_unmatched: number;
  /** Recorded outputs (copied, or already on the target). */
  blob_derived: number;
}

/** Copies the blob store in `dir` (a data dir's `blobs`); run inside the caller's transaction. Undefined when there is no such dir. */
export async function copyBlobFiles(client: pg.ClientBase, dir: string, tenants: Iterable<string>): Promise<BlobCopyCounts | undefined> {
  if (!existsSync(dir)) return undefined;
  const files = new BlobStore({ dir });
  const byMark = new Map([...tenants].map((t) => [tenantMark(t), t]));
  const out: BlobCopyCounts = { blobs: 0, blobs_copied: 0, blob_bytes_copied: 0, blob_grants: 0, blob_grants_unmatched: 0, blob_derived: 0 };
  for await (const { id, marks } of files.stored()) {
    out.blobs++;
    const info = await files.info(id);
    const hash = createHash('sha256');
    const added = await insertBlob(client, info, async function* () {
      for await (const piece of files.chunks(id, PIECE_BYTES)) {
        hash.update(piece);
        yield piece;
      }
    });
    if (added) {
      const digest = hash.digest('hex');
      if (digest !== id) throw new TaskwireError('CONFLICT', `blob file ${id} in ${dir} holds other bytes (sha256 ${digest}): damaged on disk; nothing was copied`);
      out.blobs_copied++;
      out.blob_bytes_copied += info.size;
    }
    for (const mark of marks) {
      const tenant = byMark.get(mark);
      if (tenant === undefined) out.blob_grants_unmatched++;
      else {
        await insertGrant(client, id, tenant);
        out.blob_grants++;
      }
    }
  }
  for await (const { key, record } of files.links()) {
    await insertDerived(client, key, record, 'keep');
    out.blob_derived++;
  }
  return out;
}
