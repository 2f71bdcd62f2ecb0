/**
 * Content-addressed blob store (images in, images out) in the data dir:
 * `<dir>/<aa>/<sha256>` holds the bytes, `<sha256>.type` the content type.
 * Writes go to a temp file and are renamed into place, so a reader never
 * sees half a blob and the same bytes are stored once. `derived/<key>`
 * remembers which output a (input, chain) produced, so a repeat is not
 * processed twice.
 *
 * Tenant scope: the bytes are stored once, but a blob is readable by a
 * tenant only once that tenant uploaded it (or one of its image tasks
 * produced it): `<sha256>.by-<tenant digest>` records that. A digest another
 * tenant uploaded answers like one that does not exist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOB_ID, blobSubpath } from '../../common/blob-layout.js';

export interface BlobStoreOptions {
  /** Directory of the blobs (default: a fresh temp dir, gone with the machine). */
  dir?: string;
  /** Largest blob in bytes (default 50 MB). */
  maxBytes?: number;
}

export const BLOB_DEFAULTS = { maxBytes: 50 * 1024 * 1024 } as const;

export interface BlobInfo {
  id: string;
  size: number;
  contentType: string;
}

export { BLOB_ID };

export class BlobTooLargeError extends Error {
  readonly code = 'BLOB_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`blob larger than the limit of ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

export class BlobNotFoundError extends Error {
  readonly code = 'BLOB_NOT_FOUND';
  constructor(readonly id: string) {
    super(`no blob ${id}`);
    this.name = 'BlobNotFoundError';
  }
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The mark a grant to `tenant` leaves next to a blob's file (`<id>.by-<mark>`):
 * a digest, so a tenant's name is no file name. Only a known tenant's name
 * finds its marks again (taskwire store migrate: blob-files-migrate.ts).
 */
export function tenantMark(tenant: string): string {
  return sha256Hex(`tenant\u0000${tenant}`).slice(0, 32);
}

/** A blob in the data dir's store with the marks of the tenants it was granted to (BlobStore.stored). */
export interface StoredBlob {
  id: string;
  /** tenantMark() of each tenant that may read it. */
  marks: string[];
}

/**
 * What the master needs of a blob store: the data dir's files (`BlobStore`)
 * or, with several masters, PostgreSQL (postgres-blob-store.ts), so a blob
 * uploaded through one master is read through any.
 */
export interface Blobs {
  readonly maxBytes: number;
  /** Stores the bytes (once per digest); `tenant` may read them from now on. */
  put(data: Buffer, contentType: string, tenant?: string): Promise<BlobInfo>;
  /** `tenant` may read blob `id` from now on (it uploaded it, or its task produced it). */
  grant(id: string, tenant: string): Promise<void>;
  /** May `tenant` read blob `id`? False too when there is no such blob. */
  readableBy(id: string, tenant: string): Promise<boolean>;
  has(id: string): Promise<boolean>;
  /** BlobNotFoundError when there is none. */
  info(id: string): Promise<BlobInfo>;
  get(id: string): Promise<{ info: BlobInfo; data: Buffer }>;
  /** The bytes in pieces of at most `chunkBytes`; a piece may be valid only until the next is asked for. */
  chunks(id: string, chunkBytes: number): AsyncGenerator<Buffer, void, undefined>;
  /** Records what `key` (a hash of input and chain) produced (JSON naming the output blob). */
  link(key: string, record: string): Promise<void>;
  /** What `key` produced earlier, if recorded. */
  derived(key: string): Promise<string | undefined>;
}

export class BlobStore implements Blobs {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(options: BlobStoreOptions = {}) {
    this.dir = options.dir || mkdtempSync(join(tmpdir(), 'taskwire-blobs-'));
    this.maxBytes = options.maxBytes ?? BLOB_DEFAULTS.maxBytes;
    mkdirSync(join(this.dir, 'derived'), { recursive: true });
  }

  private path(id: string): string {
    const sub = blobSubpath(id);
    if (sub === undefined) throw new BlobNotFoundError(id);
    return join(this.dir, sub);
  }

  /** Stores the bytes (once per digest); `tenant` may read them from now on. */
  async put(data: Buffer, contentType: string, tenant?: string): Promise<BlobInfo> {
    if (data.length > this.maxBytes) throw new BlobTooLargeError(this.maxBytes);
    const id = sha256Hex(data);
    const file = this.path(id);
    const info = { id, size: data.length, contentType: contentType || 'application/octet-stream' };
    if (!(await this.has(id))) {
      await mkdir(join(this.dir, id.slice(0, 2)), { recursive: true });
      const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(`${file}.type`, info.contentType);
      await writeFile(tmp, data);
      await rename(tmp, file);
    }
    if (tenant !== undefined) await this.grant(id, tenant);
    return info;
  }

  private mark(id: string, tenant: string): string {
    return `${this.path(id)}.by-${tenantMark(tenant)}`;
  }

  /** `tenant` may read blob `id` from now on (it uploaded it, or its task produced it). */
  async grant(id: string, tenant: string): Promise<void> {
    await writeFile(this.mark(id, tenant), '');
  }

  /** May `tenant` read blob `id`? False too when there is no such blob. */
  async readableBy(id: string, tenant: string): Promise<boolean> {
    if (!BLOB_ID.test(id)) return false;
    try {
      await stat(this.mark(id, tenant));
      return this.has(id);
    } catch {
      return false;
    }
  }

  async has(id: string): Promise<boolean> {
    try {
      await stat(this.path(id));
      return true;
    } catch {
      return false;
    }
  }

  async info(id: string): Promise<BlobInfo> {
    const file = this.path(id);
    try {
      const st = await stat(file);
      const contentType = await readFile(`${file}.type`, 'utf8').catch(() => 'application/octet-stream');
      return { id, size: st.size, contentType };
    } catch {
      throw new BlobNotFoundError(id);
    }
  }

  async get(id: string): Promise<{ info: BlobInfo; data: Buffer }> {
    const info = await this.info(id);
    return { info, data: await readFile(this.path(id)) };
  }

  /**
   * The blob's bytes in pieces of up to `chunkBytes`, read from its file into
   * ONE buffer that is reused: a piece is valid only until the next one is
   * asked for (copy it, or finish with it first). A blob of any size costs one
   * buffer of `chunkBytes`, not a buffer of its size (FetchBlob: fewer large
   * allocations, so fewer garbage collections in the master).
   */
  async *chunks(id: string, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
    const file = await open(this.path(id), 'r').catch(() => {
      throw new BlobNotFoundError(id);
    });
    try {
      const size = (await file.stat()).size;
      const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkBytes, size)));
      for (let off = 0; off < size; ) {
        const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, size - off), off);
        if (bytesRead === 0) break;
        off += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await file.close();
    }
  }

  /** Records what `key` (a hash of input and chain) produced (JSON naming the output blob). */
  async link(key: string, record: string): Promise<void> {
    await writeFile(join(this.dir, 'derived', sha256Hex(key)), record);
  }

  /** What `key` produced earlier, if recorded. */
  async derived(key: string): Promise<string | undefined> {
    return readFile(join(this.dir, 'derived', sha256Hex(key)), 'utf8').catch(() => undefined);
  }

  /**
   * Every whole blob with its grant marks, one directory (`<aa>/`) read at a
   * time: a blob still being written (its `.tmp` not yet renamed) is left
   * out. For taskwire store migrate, which copies them to PostgreSQL.
   */
  async *stored(): AsyncGenerator<StoredBlob, void, undefined> {
    const prefixes = (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name)).map((e) => e.name).sort();
    for (const prefix of prefixes) {
      const names = await readdir(join(this.dir, prefix));
      const marks = new Map<string, string[]>();
      for (const name of names) {
        const m = /^([0-9a-f]{64})\.by-([0-9a-f]{32})$/.exec(name);
        if (m) marks.set(m[1]!, [...(marks.get(m[1]!) ?? []), m[2]!]);
      }
      for (const id of names.filter((n) => BLOB_ID.test(n) && n.startsWith(prefix)).sort()) yield { id, marks: marks.get(id) ?? [] };
    }
  }

  /** Every recorded output: `key` is the digest link() filed it under (sha256 of the input-and-chain key). */
  async *links(): AsyncGenerator<{ key: string; record: string }, void, undefined> {
    const dir = join(this.dir, 'derived');
    for (const key of (await readdir(dir)).filter((n) => BLOB_ID.test(n)).sort()) {
      const record = await readFile(join(dir, key), 'utf8').catch(() => undefined);
      if (record !== undefined) yield { key, record };
    }
  }

  /** Removes a temp dir this store made (tests). */
  async destroy(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
