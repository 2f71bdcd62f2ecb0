/**
 * The image pipeline end to end with real processes from dist/: a master
 * (blob store, batches) and a worker serving `image` (sharp), a batch of
 * images through REST (multipart upload), the manifest, the outputs fetched
 * by id with their content type; the same batch again is served from the
 * recorded outputs without new tasks; corrupt, non-image and bomb uploads
 * are refused with 400 naming the file; a truncated image fails alone and
 * the rest of its batch succeeds; a bad chain is a 400 naming the field.
 */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, spawnWorker, startMasterProcess, until, workerReady, type MasterProcess } from '../fault/fault-cluster.js';

const { group, tmp } = faultFixture('taskwire-images-');
const TOKEN = 'images-test-token-0123456789';
let m: MasterProcess;

async function png(w: number, h: number, r: number): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 80, b: 160 } } })
    .composite([{ input: { create: { width: Math.floor(w / 2), height: h, channels: 3, background: '#fff' } }, left: 0, top: 0 }])
    .png()
    .toBuffer();
}

const CHAIN = [
  { op: 'resize', width: 64, height: 48, fit: 'cover' },
  { op: 'blur', sigma: 1.5 },
  { op: 'brightness', factor: 1.2 },
  { op: 'format', format: 'webp', quality: 70 },
];

async function postImages(files: { name: string; data: Buffer }[], ops: unknown): Promise<Response> {
  const form = new FormData();
  form.set('ops', JSON.stringify(ops));
  for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)], { type: 'image/png' }), f.name);
  return fetch(`${m.httpUrl}/api/v1/images`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
}

interface BatchJson {
  id: string;
  status: string;
  counts: Record<string, number>;
  images: { name: string; status: string; attempts: number; output_blob: string | null; bytes: number | null; width: number | null; worker_id: string | null; ms: number | null; cached: boolean; task_id: string | null; error: { code: string; message: string } | null }[];
}

async function settled(id: string): Promise<BatchJson> {
  let view: BatchJson | undefined;
  await until(
    async () => {
      view = (await (await fetch(`${m.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
      return view.status !== 'running';
    },
    `batch ${id} finished`,
    60_000,
  );
  return view!;
}

/** Reads the stored entries of a ZIP through its central directory. */
function readZip(buf: Buffer): { name: string; data: Buffer; crc: number }[] {
  const end = buf.length - 22;
  expect(buf.readUInt32LE(end)).toBe(0x06054b50);
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out = [];
  for (let i = 0; i < count; i++) {
    expect(buf.readUInt32LE(p)).toBe(0x02014b50);
    const crc = buf.readUInt32LE(p + 16);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    out.push({ name, crc, data: buf.subarray(dataAt, dataAt + size) });
    p += 46 + nameLen;
  }
  return out;
}

beforeAll(async () => {
  m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN, env: { TASKWIRE_MAX_BLOB_BYTES: String(4 * 1024 * 1024), TASKWIRE_IMAGE_MAX_PIXELS: '20000000' } });
  const w = spawnWorker(group, { id: 'img-w1', mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 2, env: { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } });
  await workerReady(w);
}, 60_000);

describe('image batches', () => {
  it('processes a batch of images on a worker and finishes with a manifest; a repeat is served from the recorded outputs', async () => {
    const files = await Promise.all([0, 1, 2, 3].map(async (i) => ({ name: `img-${i}.png`, data: await png(320 + i * 16, 200, i * 60) })));
    const res = await postImages(files, CHAIN);
    expect(res.status).toBe(202);
    const created = (await res.json()) as BatchJson;
    expect(created.counts.total).toBe(4);
    const done = await settled(created.id);
    expect(done.status).toBe('succeeded');
    expect(done.counts).toMatchObject({ total: 4, succeeded: 4, failed: 0, running: 0, queued: 0 });
    for (const img of done.images) {
      expect(img).toMatchObject({ status: 'succeeded', width: 64, worker_id: 'img-w1', cached: false });
      expect(img.bytes).toBeGreaterThan(0);
      expect(img.ms).not.toBeNull();
      const out = await fetch(`${m.httpUrl}/api/v1/blobs/${img.output_blob}`);
      expect(out.status).toBe(200);
      expect(out.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(Buffer.from(await out.arrayBuffer())).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 64, height: 48 });
    }
    expect(new Set(done.images.map((i) => i.output_blob)).size).toBe(4);

    // The outputs in one ZIP, named after the inputs, byte for byte the blobs.
    const z = await fetch(`${m.httpUrl}/api/v1/batches/${created.id}/zip`);
    expect(z.headers.get('content-type')).toBe('application/zip');
    const entries = readZip(Buffer.from(await z.arrayBuffer()));
    expect(entries.map((e) => e.name)).toEqual(['img-0.webp', 'img-1.webp', 'img-2.webp', 'img-3.webp']);
    for (const [i, e] of entries.entries()) {
      const blob = Buffer.from(await (await fetch(`${m.httpUrl}/api/v1/blobs/${done.images[i]!.output_blob}`)).arrayBuffer());
      expect(e.data.equals(blob)).toBe(true);
      expect(e.crc).toBe(crc32(blob));
    }

    // The same images and chain again: every output is already known, no task runs.
    const again = (await (await postImages(files, CHAIN)).json()) as BatchJson;
    expect(again.status).toBe('succeeded');
    expect(again.images.every((i) => i.cached && i.task_id === null)).toBe(true);
    expect(again.images.map((i) => i.output_blob)).toEqual(done.images.map((i) => i.output_blob));
  }, 90_000);

  it('accepts uploaded blob ids as a JSON batch', async () => {
    const data = await png(100, 100, 7);
    const up = await fetch(`${m.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(data) });
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    const down = await fetch(`${m.httpUrl}/api/v1/blobs/${id}`);
    expect(down.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await down.arrayBuffer()).equals(data)).toBe(true);
    const res = await fetch(`${m.httpUrl}/api/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: [id], ops: [{ op: 'grayscale' }, { op: 'edge' }, { op: 'format', format: 'png' }] }),
    });
    expect(res.status).toBe(202);
    const done = await settled(((await res.json()) as BatchJson).id);
    expect(done.images[0]).toMatchObject({ status: 'succeeded', width: 100 });
  }, 60_000);

  it('refuses corrupt, non-image and bomb uploads and a bad chain with 400 naming the field', async () => {
    const good = await png(50, 50, 1);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x42, 0, 16); // header destroyed
    const bad = async (files: { name: string; data: Buffer }[], ops: unknown = CHAIN) => {
      const res = await postImages(files, ops);
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: { field: string; message: string } }).error;
    };
    expect(await bad([{ name: 'ok.png', data: good }, { name: 'bad.png', data: corrupt }])).toMatchObject({ field: 'files.1' });
    expect(await bad([{ name: 'text.png', data: Buffer.from('just some text, not an image') }])).toMatchObject({ field: 'files.0' });
    // 6000 x 6000 = 36 M pixels over the 20 M limit, a few KB compressed.
    const bomb = await sharp({ create: { width: 6000, height: 6000, channels: 3, background: '#000' } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const e = await bad([{ name: 'bomb.png', data: bomb }]);
    expect(e).toMatchObject({ field: 'files.0' });
    expect(e.message).toMatch(/exceeds the limit/);
    expect(await bad([{ name: 'ok.png', data: good }], [{ op: 'resize', width: 10 }, { op: 'posterize' }])).toMatchObject({ field: 'ops.1.op' });
    expect(await bad([{ name: 'ok.png', data: good }], [{ op: 'blur', sigma: -2 }])).toMatchObject({ field: 'ops.0.sigma' });
    const big = await fetch(`${m.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(5 * 1024 * 1024) });
    expect(big.status).toBe(413);
  }, 60_000);

  it('fails a truncated image alone (BAD_INPUT), the rest of the batch succeeds, and the worker lives on', async () => {
    const whole = await png(400, 300, 99);
    const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
    const res = await postImages([{ name: 'good.png', data: await png(200, 100, 3) }, { name: 'cut.png', data: truncated }], CHAIN);
    expect(res.status).toBe(202);
    const done = await settled(((await res.json()) as BatchJson).id);
    expect(done.status).toBe('failed');
    expect(done.counts).toMatchObject({ succeeded: 1, failed: 1 });
    expect(done.images[1]!.error?.code).toBe('BAD_INPUT');
    // Retry: only the failed image runs again (a new task); the succeeded one keeps its task.
    const retry = await fetch(`${m.httpUrl}/api/v1/batches/${done.id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(202);
    const retried = await settled(done.id);
    expect(retried.images[0]).toMatchObject({ status: 'succeeded', task_id: done.images[0]!.task_id, attempts: 1 });
    expect(retried.images[1]).toMatchObject({ status: 'failed', attempts: 2 });
    expect(retried.images[1]!.task_id).not.toBe(done.images[1]!.task_id);
    // Still serving: another image goes through.
    const next = await settled(((await (await postImages([{ name: 'after.png', data: await png(120, 90, 5) }], CHAIN)).json()) as BatchJson).id);
    expect(next.status).toBe('succeeded');
  }, 60_000);
});

describe('image routes with API keys', () => {
  it('need the key like the rest of the REST API', async () => {
    const locked = await startMasterProcess(group, { name: 'master-keys', dataDir: `${tmp.dir}/data-keys`, clusterToken: TOKEN, env: { TASKWIRE_API_KEYS: 'key-one' } });
    const data = new Uint8Array(await png(20, 20, 9));
    const noKey = await fetch(`${locked.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: data });
    expect(noKey.status).toBe(401);
    const withKey = await fetch(`${locked.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png', authorization: 'Bearer key-one' }, body: data });
    expect(withKey.status).toBe(201);
    const { id } = (await withKey.json()) as { id: string };
    expect((await fetch(`${locked.httpUrl}/api/v1/blobs/${id}`)).status).toBe(401);
    expect((await fetch(`${locked.httpUrl}/api/v1/batches/batch-x`)).status).toBe(401);
    const images = await fetch(`${locked.httpUrl}/api/v1/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ images: [id], ops: [{ op: 'grayscale' }] }) });
    expect(images.status).toBe(401);
  }, 60_000);
});
