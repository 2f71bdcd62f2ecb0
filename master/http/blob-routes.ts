/**
 * REST for images: blobs (upload, download), image batches (create from a
 * multipart upload or from blob ids, progress + manifest, retry the failed).
 * Mounted on the REST router, so the same authentication applies. Uploads
 * are probed with sharp (header only) and refused with 400 naming the file
 * when they are not an image, or larger than the pixel limit (decompression
 * bombs); a truncated image fails its task with BAD_INPUT.
 *
 * Blobs are scoped by tenant: a caller reads (or names in a batch) only a
 * blob its tenant uploaded or produced; another tenant's digest answers like
 * one that does not exist. A cluster operator (tenant `default`, operate
 * scope) reads every blob.
 */
import { Router, type Request, type Response } from 'express';
import sharp from 'sharp';
import { z } from 'zod';
import { NotFoundError, PayloadTooLargeError, TaskwireError, ValidationError } from '../../common/errors.js';
import { blobId, imageChain, type ImageOp } from '../../common/kinds/image.js';
import type { BatchImage, BatchService, FoundBatch } from '../batches/batch-service.js';
import { BATCH_STATUSES } from '../batches/batch-store.js';
import { BlobNotFoundError, BlobTooLargeError, type Blobs } from '../blobs/blob-store.js';
import { zip } from '../batches/zip-writer.js';
import { sendError } from './http-errors.js';
import { parseBody } from './rest-api.js';
import { principalOf } from './auth/http-auth.js';
import { seesAll, type Principal } from './auth/principal.js';
import { listingScope, seesTask } from './auth/task-visibility.js';

/** Most images in one batch. */
export const MAX_BATCH_IMAGES = 1000;

export interface BlobRoutesOptions {
  blobs: Blobs;
  batches: BatchService;
  /** Largest width x height accepted (default 100 M pixels). */
  maxPixels?: number;
  /** Largest multipart request (default 20 x the blob size limit). */
  maxRequestBytes?: number;
}

const FORMAT_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  heif: 'image/avif',
};

export const jsonBatch = z
  .object({
    ops: imageChain,
    images: z
      .array(z.union([blobId, z.object({ blob: blobId, name: z.string().max(256).optional() }).strict()]))
      .min(1)
      .max(MAX_BATCH_IMAGES),
  })
  .strict();

/** `GET /batches`: newest first, a page at a time. */
export const batchListQuery = z
  .object({
    status: z.enum(BATCH_STATUSES).optional(),
    cursor: z.string().min(1).max(200).meta({ description: 'next_cursor of the previous page' }).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  });

/** Reads the raw request body, refusing it past `limit` bytes. */
async function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.get('content-length') ?? NaN);
  if (declared > limit) throw new PayloadTooLargeError('body', declared, limit);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError('body', size, limit);
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

/** The image's content type, or a 400 naming `field`. */
async function probe(data: Buffer, field: string, maxPixels: number): Promise<string> {
  let meta: sharp.Metadata;
  try {
    // Header only: no pixel is decoded here, so no limit is needed to read it; the size check follows.
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ValidationError(field, `not a readable image (${(err as Error).message})`);
  }
  const type = meta.format ? FORMAT_TYPES[meta.format] : undefined;
  if (!type) throw new ValidationError(field, `unsupported image format ${meta.format ?? 'unknown'} (jpeg, png, webp, avif, gif, tiff)`);
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (pixels > maxPixels) throw new ValidationError(field, `image of ${meta.width}x${meta.height} pixels exceeds the limit of ${maxPixels} pixels`);
  return type;
}

function parseOps(text: string | undefined): ImageOp[] {
  if (text === undefined) throw new ValidationError('ops', 'required: the chain of operations as JSON');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('ops', 'not valid JSON');
  }
  const parsed = imageChain.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(['ops', ...issue.path.map(String)].join('.'), issue.message);
  }
  return parsed.data;
}

export function blobRoutes(options: BlobRoutesOptions): Router {
  const { blobs, batches } = options;
  const maxPixels = options.maxPixels ?? 100_000_000;
  const maxRequest = options.maxRequestBytes ?? 20 * blobs.maxBytes;
  const r = Router();
  const readable = async (id: string, p: Principal) => (seesAll(p) ? blobs.has(id) : blobs.readableBy(id, p.tenant));

  r.post('/blobs', async (req, res) => {
    try {
      const data = await readBody(req, blobs.maxBytes);
      if (data.length === 0) throw new ValidationError('body', 'empty upload');
      const info = await blobs.put(data, req.get('content-type') ?? 'application/octet-stream', principalOf(res).tenant);
      res.status(201).location(`/api/v1/blobs/${info.id}`).json({ id: info.id, size: info.size, content_type: info.contentType });
    } catch (err) {
      sendBlobError(res, err);
    }
  });

  r.get('/blobs/:id', async (req: Request<{ id: string }>, res) => {
    try {
      if (!(await readable(req.params.id, principalOf(res)))) throw new BlobNotFoundError(req.params.id);
      const { info, data } = await blobs.get(req.params.id);
      res.set('Content-Type', info.contentType).set('Cache-Control', 'public, max-age=31536000, immutable').send(data);
    } catch (err) {
      sendBlobError(res, err);
    }
  });

  r.post('/images', async (req, res) => {
    try {
      let images: BatchImage[];
      let ops: ImageOp[];
      if (req.is('multipart/form-data')) {
        const body = await readBody(req, maxRequest);
        const form = await new Response(body, { headers: { 'content-type': req.get('content-type')! } }).formData().catch((err: unknown) => {
          throw new ValidationError('body', `not a valid multipart body (${(err as Error).message})`);
        });
        const opsField = form.get('ops');
        ops = parseOps(typeof opsField === 'string' ? opsField : opsField ? await (opsField as unknown as Blob).text() : undefined);
        type Part = Blob & { name?: string };
        const files = form.getAll('files').filter((f) => typeof f !== 'string') as unknown as Part[];
        if (files.length === 0) throw new ValidationError('files', 'no files: send one or more parts named "files"');
        if (files.length > MAX_BATCH_IMAGES) throw new ValidationError('files', `at most ${MAX_BATCH_IMAGES} images per batch`);
        // Probe all before storing any: a refused batch leaves nothing behind.
        const datas = await Promise.all(files.map(async (f) => Buffer.from(await f.arrayBuffer())));
        const types: string[] = [];
        for (let i = 0; i < datas.length; i++) {
          if (datas[i]!.length > blobs.maxBytes) throw new ValidationError(`files.${i}`, `larger than the limit of ${blobs.maxBytes} bytes`);
          types.push(await probe(datas[i]!, `files.${i}`, maxPixels));
        }
        images = [];
        for (let i = 0; i < datas.length; i++) {
          const info = await blobs.put(datas[i]!, types[i]!, principalOf(res).tenant);
          images.push({ name: files[i]!.name || `image-${i}`, blob: info.id });
        }
      } else {
        const body = parseBody(jsonBatch, req.body);
        ops = body.ops;
        images = [];
        for (const [i, img] of body.images.entries()) {
          const id = typeof img === 'string' ? img : img.blob;
          const name = typeof img === 'string' ? id : (img.name ?? id);
          if (!(await readable(id, principalOf(res)))) throw new ValidationError(`images.${i}`, `no blob ${id}`);
          await probe((await blobs.get(id)).data, `images.${i}`, maxPixels);
          images.push({ name, blob: id });
        }
      }
      const view = await batches.create(images, ops, { owner: principalOf(res).id, tenant: principalOf(res).tenant }, req.is('multipart/form-data') ? 'files' : 'images');
      res.status(202).location(`/api/v1/batches/${view.id}`).json(view);
    } catch (err) {
      sendBlobError(res, err);
    }
  });

  // Another tenant's batch answers like one that does not exist; so does another key's for a user key (as its tasks do).
  // Several masters: one held by another master is read from the shared store, as that master last wrote it.
  const visible = async (id: string, res: Response): Promise<FoundBatch> => {
    const b = await batches.find(id);
    if (!b || !seesTask(principalOf(res), b)) throw new NotFoundError(`no batch ${id.slice(0, 128)}`);
    return b;
  };
  // The caller's batches as its task listing scopes them: a tenant's key its tenant's, a user key its own, a cluster operator all.
  r.get('/batches', async (req, res) => {
    try {
      const q = parseBody(batchListQuery, req.query);
      res.json(await batches.list({ ...listingScope(principalOf(res)), status: q.status, cursor: q.cursor, limit: q.limit }));
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/batches/:id', async (req: Request<{ id: string }>, res) => {
    try {
      res.json((await visible(req.params.id, res)).view);
    } catch (err) {
      sendError(res, err);
    }
  });

  // The succeeded outputs of a batch in one ZIP (stored entries), named after the inputs.
  r.get('/batches/:id/zip', async (req: Request<{ id: string }>, res) => {
    try {
      const { view } = await visible(req.params.id, res);
      const entries = [];
      const used = new Set<string>();
      for (const [i, img] of view.images.entries()) {
        if (!img.output_blob) continue;
        const ext = (img.content_type ?? 'application/octet-stream').split('/')[1] ?? 'bin';
        let name = `${img.name.replace(/[\\/]/g, '_').replace(/\.[^.]*$/, '')}.${ext === 'jpeg' ? 'jpg' : ext}`;
        if (used.has(name)) name = `${i}-${name}`;
        used.add(name);
        entries.push({ name, data: (await blobs.get(img.output_blob)).data });
      }
      res.set('Content-Type', 'application/zip').set('Content-Disposition', `attachment; filename="${view.id}.zip"`).send(zip(entries));
    } catch (err) {
      sendBlobError(res, err);
    }
  });

  r.post('/batches/:id/retry', async (req: Request<{ id: string }>, res) => {
    try {
      const b = await visible(req.params.id, res);
      // Its images' tasks are that master's to start: as a task's cancel, a change goes through the master that holds it.
      if (b.elsewhere !== null) throw new TaskwireError('CONFLICT', `batch ${b.view.id} is held by master ${b.elsewhere}: retry it through that master`);
      res.status(202).json(await batches.retryFailed(b.view.id));
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}

function sendBlobError(res: Response, err: unknown): void {
  // The rest of a refused upload is read and dropped, so the client gets the answer.
  if (err instanceof PayloadTooLargeError || err instanceof BlobTooLargeError) res.req.resume();
  if (err instanceof BlobTooLargeError) {
    res.status(413).json({ error: { code: 'PAYLOAD_TOO_LARGE', message: err.message } });
    return;
  }
  if ((err as { code?: string }).code === 'BLOB_NOT_FOUND') {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: (err as Error).message } });
    return;
  }
  sendError(res, err);
}
