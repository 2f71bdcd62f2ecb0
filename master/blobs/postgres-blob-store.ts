/**
 * The blob store on PostgreSQL, for several masters on one database
 * (TASKWIRE_MASTERS=multi): a blob uploaded through one master is read,
 * named in an image task or batch, and downloaded through any other, as a
 * routing mesh in front of the masters sends each request to any of them.
 * The same rules as the data dir's store (blob-store.ts): content-addressed
 * (the id is the SHA-256, the bytes kept once), readable by a tenant only
 * once it uploaded them or its task produced them, and the outputs of an
 * (input, chain) remembered.
 *
 * The bytes are rows of at most CHUNK_BYTES (`tw_blob_chunks`), written in
 * the transaction that adds the blob's row (`tw_blobs`), so a blob that is
 * listed is whole; two masters storing the same bytes at once meet on the
 * primary key (the second waits for the first, then finds the row) and keep
 * one copy. Reads take one chunk at a time, so a download costs a chunk of
 * memory, not the blob. Versioned as the `blobs` room in taskwire_room_schema.
 */
import type pg from 'pg';
import { errorMessage, TaskwireError } from '../../common/errors.js';
import { migrateRoom } from '../store/postgres-room-schema.js';
import { BLOB_DEFAULTS, BLOB_ID, BlobNotFoundError, BlobTooLargeError, sha256Hex, type BlobInfo, type Blobs } from './blob-store.js';

/** Step n makes version n of the blobs room's tables. Append only. */
export const BLOBS_PG_STEPS: readonly string[] = [
  `
  CREATE TABLE tw_blobs (id text PRIMARY KEY, content_type text NOT NULL, size bigint NOT NULL, created_at bigint NOT NULL);
  CREATE TABLE tw_blob_chunks (id text NOT NULL, n integer NOT NULL, data bytea NOT NULL, PRIMARY KEY (id, n));
  CREATE TABLE tw_blob_grants (id text NOT NULL, tenant text NOT NULL, PRIMARY KEY (id, tenant));
  CREATE TABLE tw_blob_derived (key text PRIMARY KEY, record text NOT NULL);
  `,
];

/** Bytes per stored row: the size of a FetchBlob piece (transport/blob-service.ts). */
const CHUNK_BYTES = 1024 * 1024;

const ignore = (): void => undefined;

/** A pool or a client (in the caller's transaction). */
type Queryable = Pick<pg.ClientBase, 'query'>;

/** `data` as row-sized views (no copy); an empty blob is one empty piece. */
function* pieces(data: Buffer): Generator<Buffer, void, undefined> {
  for (let off = 0; off < data.length || off === 0; off += CHUNK_BYTES) yield data.subarray(off, off + CHUNK_BYTES);
}

/**
 * Adds blob `info`'s row and its bytes as rows of CHUNK_BYTES, on `c` inside
 * the caller's transaction (so the blob is listed only once whole). `bytes`
 * is asked for only when the row is new: a blob already stored (the same id
 * is the same bytes) is kept and false returned. The bytes may come in
 * pieces of any size (a file read in pieces: taskwire store migrate,
 * blob-files-migrate.ts); a piece that is exactly the next row is written as
 * it is (put(): no copy), others are gathered into one row-sized buffer, so
 * a blob of any size costs a row of memory. A piece need be valid only until
 * the next is asked for. Other than `info.size` bytes in all is an error
 * (the caller's transaction then keeps nothing).
 */
export async function insertBlob(c: Queryable, info: BlobInfo, bytes: () => AsyncIterable<Buffer> | Iterable<Buffer>, createdAt = Date.now()): Promise<boolean> {
  const added = await c.query('INSERT INTO tw_blobs (id, content_type, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [info.id, info.contentType, info.size, createdAt]);
  if (added.rowCount !== 1) return false;
  const rowBytes = (n: number) => Math.max(0, Math.min(CHUNK_BYTES, info.size - n * CHUNK_BYTES));
  const wrongSize = (got: string) => new Error(`blob ${info.id}: ${got} its ${info.size} bytes`);
  const write = (n: number, data: Buffer) => c.query('INSERT INTO tw_blob_chunks (id, n, data) VALUES ($1, $2, $3)', [info.id, n, data]);
  let n = 0;
  let row: Buffer | undefined; // gathers pieces that are not a whole row
  let held = 0;
  for await (const piece of bytes()) {
    if (piece.length === 0) continue;
    if (held === 0 && piece.length === rowBytes(n)) {
      await write(n++, piece);
      continue;
    }
    for (let off = 0; off < piece.length; ) {
      const want = rowBytes(n);
      if (want === 0) throw wrongSize('more than');
      row ??= Buffer.allocUnsafe(Math.min(CHUNK_BYTES, info.size));
      const took = piece.copy(row, held, off, Math.min(piece.length, off + want - held));
      held += took;
      off += took;
      if (held === want) {
        await write(n++, row.subarray(0, want));
        held = 0;
      }
    }
  }
  if (held > 0 || rowBytes(n) > 0) throw wrongSize(`only ${n * CHUNK_BYTES + held} of`);
  if (n === 0) await write(0, Buffer.alloc(0)); // an empty blob: one empty row, as before
  return true;
}

/** `tenant` may read blob `id`; false when it already could. */
export async function insertGrant(q: Queryable, id: string, tenant: string): Promise<boolean> {
  return (await q.query('INSERT INTO tw_blob_grants (id, tenant) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, tenant])).rowCount === 1;
}

/**
 * What an (input, chain) produced; `key` is already its digest (sha256Hex of
 * link()'s key, as the data dir's store names the file). `keep`: a record
 * already there stays (false returned), as a migration wants; `replace`: the
 * newest wins, as link() wants.
 */
export async function insertDerived(q: Queryable, key: string, record: string, onConflict: 'keep' | 'replace'): Promise<boolean> {
  const conflict = onConflict === 'keep' ? 'DO NOTHING' : 'DO UPDATE SET record = excluded.record';
  return (await q.query(`INSERT INTO tw_blob_derived (key, record) VALUES ($1, $2) ON CONFLICT (key) ${conflict}`, [key, record])).rowCount === 1;
}

/** PostgreSQL out of reach or refusing: a 503 for the caller (nothing was kept), never a 500. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BlobNotFoundError || err instanceof BlobTooLargeError) throw err;
    throw new TaskwireError('UNAVAILABLE', `the blob store could not ${what} (${errorMessage(err)}); retry shortly`);
  }
}

export class PostgresBlobStore implements Blobs {
  readonly maxBytes: number;

  private constructor(
    private readonly pool: pg.Pool,
    maxBytes: number,
  ) {
    this.maxBytes = maxBytes;
  }

  static async open(pool: pg.Pool, o: { maxBytes?: number } = {}): Promise<PostgresBlobStore> {
    await migrateRoom(pool, 'blobs', BLOBS_PG_STEPS);
    return new PostgresBlobStore(pool, o.maxBytes ?? BLOB_DEFAULTS.maxBytes);
  }

  async put(data: Buffer, contentType: string, tenant?: string): Promise<BlobInfo> {
    if (data.length > this.maxBytes) throw new BlobTooLargeError(this.maxBytes);
    const id = sha256Hex(data);
    const info = { id, size: data.length, contentType: contentType || 'application/octet-stream' };
    await guarded('keep the blob', () => this.write(id, info, data, tenant));
    return info;
  }

  private async write(id: string, info: BlobInfo, data: Buffer, tenant: string | undefined): Promise<void> {
    const c = await this.pool.connect();
    c.on('error', ignore); // lost while checked out: the query in flight fails instead
    let failed: Error | undefined;
    try {
      await c.query('BEGIN');
      await insertBlob(c, info, () => pieces(data));
      if (tenant !== undefined) await insertGrant(c, id, tenant);
      await c.query('COMMIT');
    } catch (err) {
      failed = err as Error;
      await c.query('ROLLBACK').catch(ignore);
      throw err;
    } finally {
      c.off('error', ignore);
      c.release(failed);
    }
  }

  async grant(id: string, tenant: string): Promise<void> {
    await guarded('keep the grant', () => insertGrant(this.pool, id, tenant));
  }

  async readableBy(id: string, tenant: string): Promise<boolean> {
    if (!BLOB_ID.test(id)) return false;
    const r = await guarded('be read', () => this.pool.query('SELECT 1 FROM tw_blob_grants g JOIN tw_blobs b ON b.id = g.id WHERE g.id = $1 AND g.tenant = $2', [id, tenant]));
    return r.rowCount === 1;
  }

  async has(id: string): Promise<boolean> {
    if (!BLOB_ID.test(id)) return false;
    return (await guarded('be read', () => this.pool.query('SELECT 1 FROM tw_blobs WHERE id = $1', [id]))).rowCount === 1;
  }

  async info(id: string): Promise<BlobInfo> {
    if (!BLOB_ID.test(id)) throw new BlobNotFoundError(id);
    const row = (await guarded('be read', () => this.pool.query<{ content_type: string; size: string }>('SELECT content_type, size FROM tw_blobs WHERE id = $1', [id]))).rows[0];
    if (!row) throw new BlobNotFoundError(id);
    return { id, size: Number(row.size), contentType: row.content_type };
  }

  async get(id: string): Promise<{ info: BlobInfo; data: Buffer }> {
    const info = await this.info(id);
    const rows = (await guarded('be read', () => this.pool.query<{ data: Buffer }>('SELECT data FROM tw_blob_chunks WHERE id = $1 ORDER BY n', [id]))).rows;
    return { info, data: Buffer.concat(rows.map((r) => r.data), info.size) };
  }

  async *chunks(id: string, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
    const info = await this.info(id);
    for (let n = 0, sent = 0; sent < info.size; n++) {
      const row = (await guarded('be read', () => this.pool.query<{ data: Buffer }>('SELECT data FROM tw_blob_chunks WHERE id = $1 AND n = $2', [id, n]))).rows[0];
      if (!row) throw new BlobNotFoundError(id);
      for (let off = 0; off < row.data.length; off += chunkBytes) yield row.data.subarray(off, off + chunkBytes);
      sent += row.data.length;
    }
  }

  async link(key: string, record: string): Promise<void> {
    await guarded('keep an output', () => insertDerived(this.pool, sha256Hex(key), record, 'replace'));
  }

  async derived(key: string): Promise<string | undefined> {
    return (await guarded('be read', () => this.pool.query<{ record: string }>('SELECT record FROM tw_blob_derived WHERE key = $1', [sha256Hex(key)]))).rows[0]?.record;
  }
}
