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
 *
 * `migrateBlobsOnly` (`store migrate --blobs-only`) is the same copy on its
 * own, for a master already on PostgreSQL going to multi mode.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { TaskwireError } from '../../common/errors.js';
import { DEFAULT_TENANT } from '../core/task-record.js';
import { redactPostgresUrl } from '../store/postgres-task-store.js';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { schemaVersion } from '../store/postgres-schema.js';
import { isPostgresUrl } from '../store/postgres-url.js';
import { connectTarget } from '../store/store-migrate.js';
import { BlobStore, tenantMark } from './blob-store.js';
import { BLOBS_PG_STEPS, insertBlob, insertDerived, insertGrant } from './postgres-blob-store.js';

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

export interface BlobsOnlyMigrateOptions {
  /** The data dir of a master already on PostgreSQL (its `blobs` is read). */
  from: string;
  /** postgres:// URL of the database that master ran on. */
  to: string;
  /** Copy into a database that holds no taskwire cluster. */
  force?: boolean;
}

export interface BlobsOnlyMigrateResult {
  /** The blob dir read. */
  source: string;
  /** The target, password redacted. */
  target: string;
  /** The target's tasks (left as they are). */
  targetTasks: number;
  /** The blobs' counts; all 0 when the data dir has no `blobs`. */
  blobs: BlobCopyCounts;
}

/** The target holds no taskwire cluster: --blobs-only is for a master already on it. */
export class NoClusterError extends TaskwireError {
  constructor(target: string) {
    super('CONFLICT', `${target} holds no taskwire cluster: --blobs-only copies the blobs of a master already on this database; to move a SQLite master run store migrate without it (or --force to copy the blobs anyway)`);
    this.name = 'NoClusterError';
  }
}

/**
 * `taskwire store migrate --blobs-only`: a single master already on
 * PostgreSQL keeps its blobs in its data dir (blob-store.ts) and everything
 * else in the database; masters in multi mode read blobs from the database
 * only. This copies the data dir's blobs, as the full migration does, and
 * nothing else: the tasks, rooms and batches are in the database already and
 * are left as they are. Refused while a master runs on the database (its
 * one-master lock) and, without `force`, when the database holds no taskwire
 * cluster (no result-token key: it is not where this master ran). Grants are
 * matched against the database's tenants (`default`, tw_tenants, and those of
 * its tasks and batches). One transaction; a repeat copies nothing again.
 */
export async function migrateBlobsOnly(o: BlobsOnlyMigrateOptions): Promise<BlobsOnlyMigrateResult> {
  if (!isPostgresUrl(o.to)) throw new TaskwireError('BAD_REQUEST', '--to must be a postgres:// or postgresql:// URL');
  if (!existsSync(o.from) || !statSync(o.from).isDirectory()) throw new TaskwireError('NOT_FOUND', `--from ${o.from}: with --blobs-only, --from is a master's data dir (its blobs are in <data dir>/blobs)`);
  const source = join(o.from, 'blobs');
  const target = redactPostgresUrl(o.to);
  const client = await connectTarget(o.to, target);
  try {
    const version = await schemaVersion(client);
    const hasCluster = version > 0 && (await client.query("SELECT 1 FROM meta WHERE key = 'result_secret'")).rowCount! > 0;
    if (!hasCluster && !o.force) throw new NoClusterError(target);
    await migrateRoom(client, 'blobs', BLOBS_PG_STEPS);
    const targetTasks = version > 0 ? Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM tasks')).rows[0]?.n ?? 0) : 0;
    const tenants = await targetTenants(client);
    await client.query('BEGIN');
    try {
      const blobs = (await copyBlobFiles(client, source, tenants)) ?? { blobs: 0, blobs_copied: 0, blob_bytes_copied: 0, blob_grants: 0, blob_grants_unmatched: 0, blob_derived: 0 };
      await client.query('COMMIT');
      return { source, target, targetTasks, blobs };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every tenant the database knows (a grant on disk names its tenant by a digest only). */
async function targetTenants(client: pg.ClientBase): Promise<Set<string>> {
  const out = new Set([DEFAULT_TENANT]);
  for (const [table, sql] of [
    ['tw_tenants', 'SELECT id AS t FROM tw_tenants'],
    ['tasks', 'SELECT DISTINCT tenant AS t FROM tasks WHERE tenant IS NOT NULL'],
    ['taskwire_batches', 'SELECT DISTINCT tenant AS t FROM taskwire_batches'],
  ] as const) {
    const there = (await client.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [table])).rows[0]?.r;
    if (there) for (const r of (await client.query<{ t: string }>(sql)).rows) out.add(r.t);
  }
  return out;
}
