/**
 * The blob store on a real PostgreSQL (master/blobs/postgres-blob-store.ts):
 * what the data dir's store does (content-addressed, tenant grants, derived
 * outputs), bytes in 1 MiB rows read back whole and in pieces, two masters
 * storing the same bytes at once keep one copy, and a write PostgreSQL
 * refuses is a 503 (UNAVAILABLE) that keeps nothing. insertBlob (the write
 * taskwire store migrate streams a file through) gathers pieces of any size
 * into 1 MiB rows and refuses bytes that are not the blob's size.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobNotFoundError, sha256Hex } from '../../master/blobs/blob-store.js';
import { insertBlob, PostgresBlobStore } from '../../master/blobs/postgres-blob-store.js';
import { postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';

const available = postgresAvailable();

describe.skipIf(!available)(`blobs on PostgreSQL${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, pool } = postgresRoomsFixture();
  const open = async (url: string, maxBytes?: number) => PostgresBlobStore.open(pool(url), { maxBytes });

  it('keeps the bytes once by digest, in 1 MiB rows, read whole and in pieces; grants per tenant; derived outputs', async () => {
    const url = await server().createDatabase();
    const a = await open(url);
    const b = await open(url);
    const data = randomBytes(2.5 * 1024 * 1024);
    const info = await a.put(data, 'image/png', 'acme');
    expect(info).toEqual({ id: sha256Hex(data), size: data.length, contentType: 'image/png' });
    // Read through the other master's store.
    expect(await b.has(info.id)).toBe(true);
    expect(await b.info(info.id)).toEqual(info);
    expect((await b.get(info.id)).data.equals(data)).toBe(true);
    const pieces: Buffer[] = [];
    for await (const p of b.chunks(info.id, 300 * 1024)) pieces.push(Buffer.from(p));
    expect(pieces.every((p) => p.length <= 300 * 1024)).toBe(true);
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
    expect((await queryRows<{ n: string }>(url, 'SELECT count(*) AS n FROM tw_blob_chunks WHERE id = $1', [info.id]))[0]!.n).toBe('3');
    // Tenants: acme uploaded it; globex only once granted (its task produced the same bytes).
    expect(await b.readableBy(info.id, 'acme')).toBe(true);
    expect(await b.readableBy(info.id, 'globex')).toBe(false);
    await b.grant(info.id, 'globex');
    expect(await a.readableBy(info.id, 'globex')).toBe(true);
    expect(await a.readableBy('f'.repeat(64), 'acme')).toBe(false);
    await expect(a.info('f'.repeat(64))).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(a.info('../etc/passwd')).rejects.toBeInstanceOf(BlobNotFoundError);
    // An empty blob.
    const empty = await a.put(Buffer.alloc(0), '');
    expect((await b.get(empty.id)).data.length).toBe(0);
    expect(empty.contentType).toBe('application/octet-stream');
    // What an (input, chain) produced, seen by the other master.
    expect(await b.derived('k1')).toBeUndefined();
    await a.link('k1', '{"output":1}');
    expect(await b.derived('k1')).toBe('{"output":1}');
  });

  it('two masters storing the same bytes at once keep one copy; past the size limit nothing is kept', async () => {
    const url = await server().createDatabase();
    const [a, b] = [await open(url, 4 * 1024 * 1024), await open(url, 4 * 1024 * 1024)];
    const data = randomBytes(3 * 1024 * 1024);
    const [x, y] = await Promise.all([a.put(data, 'application/octet-stream', 't1'), b.put(data, 'application/octet-stream', 't2')]);
    expect(x.id).toBe(y.id);
    expect((await queryRows<{ n: string }>(url, 'SELECT count(*) AS n FROM tw_blobs'))[0]!.n).toBe('1');
    expect((await queryRows<{ n: string }>(url, 'SELECT count(*) AS n FROM tw_blob_chunks'))[0]!.n).toBe('3');
    expect((await a.get(x.id)).data.equals(data)).toBe(true);
    expect(await a.readableBy(x.id, 't1')).toBe(true);
    expect(await a.readableBy(x.id, 't2')).toBe(true);
    await expect(a.put(randomBytes(4 * 1024 * 1024 + 1), 'x')).rejects.toMatchObject({ code: 'BLOB_TOO_LARGE' });
  });

  it('a write PostgreSQL refuses rejects with UNAVAILABLE and leaves no blob (no half of one either)', async () => {
    const url = await server().createDatabase();
    const a = await open(url);
    await queryRows(url, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.n = 1 THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await queryRows(url, 'CREATE TRIGGER refuse BEFORE INSERT ON tw_blob_chunks FOR EACH ROW EXECUTE FUNCTION refuse()');
    const data = randomBytes(1.5 * 1024 * 1024); // two rows: the second is refused
    await expect(a.put(data, 'image/png', 'acme')).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/could not keep the blob/) });
    expect(await a.has(sha256Hex(data))).toBe(false);
    expect((await queryRows<{ n: string }>(url, 'SELECT count(*) AS n FROM tw_blob_chunks'))[0]!.n).toBe('0');
    await queryRows(url, 'DROP TRIGGER refuse ON tw_blob_chunks');
    expect((await a.put(data, 'image/png', 'acme')).size).toBe(data.length);
  });

  it('insertBlob gathers pieces of any size into 1 MiB rows (a piece reused after it was taken); other than the size in bytes refuses', async () => {
    const url = await server().createDatabase();
    const a = await open(url);
    const p = pool(url);
    const data = randomBytes(2 * 1024 * 1024 + 12345);
    const info = { id: sha256Hex(data), size: data.length, contentType: 'image/png' };
    const reused = Buffer.alloc(300 * 1024);
    async function* pieces(of: Buffer) {
      for (let off = 0; off < of.length; off += reused.length) {
        const n = of.copy(reused, 0, off, off + reused.length);
        yield reused.subarray(0, n); // as BlobStore.chunks: the same buffer each time
      }
    }
    const c = await p.connect();
    try {
      expect(await insertBlob(c, info, () => pieces(data))).toBe(true);
      expect(await insertBlob(c, info, () => { throw new Error('not read: the blob is there'); })).toBe(false);
      const sizes = await queryRows<{ n: number; len: number }>(url, 'SELECT n, length(data) AS len FROM tw_blob_chunks WHERE id = $1 ORDER BY n', [info.id]);
      expect(sizes).toEqual([{ n: 0, len: 1024 * 1024 }, { n: 1, len: 1024 * 1024 }, { n: 2, len: 12345 }]);
      expect((await a.get(info.id)).data.equals(data)).toBe(true);
      for (const [bytes, what] of [[data.subarray(1), /only 2109496 of its 2109497 bytes/], [Buffer.concat([data, Buffer.alloc(1)]), /more than its 2109497 bytes/]] as const) {
        await c.query('BEGIN');
        await expect(insertBlob(c, { ...info, id: 'f'.repeat(64) }, () => pieces(bytes))).rejects.toThrow(what);
        await c.query('ROLLBACK');
      }
    } finally {
      c.release();
    }
  });
});
