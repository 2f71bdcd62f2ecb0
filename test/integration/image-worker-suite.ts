/**
 * A real image worker of another language (Go, Java) serving `image` for a
 * master process from dist/: the client calls the tests make (a multipart
 * batch, a blob, a task's end) and the suite both workers pass
 * (test/integration/images-go.test.ts, images-java.test.ts); the Python
 * worker's test uses the client calls (its Pillow writes webp, so its suite
 * differs).
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, listWorkers, postTask, startMasterProcess, until, type MasterProcess } from '../fault/fault-cluster.js';
import type { ManagedProcess } from '../helpers/processes.js';

export interface BatchJson {
  id: string;
  status: string;
  counts: Record<string, number>;
  images: { name: string; status: string; output_blob: string | null; width: number | null; height: number | null; bytes: number | null; worker_id: string | null; content_type: string | null; error: { code: string; message: string } | null }[];
}

export interface TaskJson {
  status: string;
  attempt: number;
  worker_id: string | null;
  error: { code: string; message: string } | null;
}

export async function png(w: number, h: number, r: number): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 60, b: 200 } } }).png().toBuffer();
}

/** The calls a test makes on a master at `httpUrl()` (read when called: the master starts in beforeAll). */
export function imageClient(httpUrl: () => string) {
  return {
    async batch(files: { name: string; data: Buffer }[], ops: unknown): Promise<BatchJson> {
      const form = new FormData();
      form.set('ops', JSON.stringify(ops));
      for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)], { type: 'image/png' }), f.name);
      const res = await fetch(`${httpUrl()}/api/v1/images`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
      expect(res.status, await res.clone().text()).toBe(202);
      const id = ((await res.json()) as BatchJson).id;
      let view: BatchJson | undefined;
      await until(async () => {
        view = (await (await fetch(`${httpUrl()}/api/v1/batches/${id}`)).json()) as BatchJson;
        return view.status !== 'running';
      }, `batch ${id} finished`, 90_000);
      return view!;
    },
    async blob(id: string): Promise<{ type: string | null; data: Buffer }> {
      const res = await fetch(`${httpUrl()}/api/v1/blobs/${id}`);
      return { type: res.headers.get('content-type'), data: Buffer.from(await res.arrayBuffer()) };
    },
    async upload(data: Buffer | string): Promise<string> {
      const res = await fetch(`${httpUrl()}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: typeof data === 'string' ? data : new Uint8Array(data) });
      return ((await res.json()) as { id: string }).id;
    },
    async finished(id: string): Promise<TaskJson> {
      let view: TaskJson | undefined;
      await until(async () => {
        view = (await (await fetch(`${httpUrl()}/api/v1/tasks/${id}`)).json()) as TaskJson;
        return view.status === 'failed' || view.status === 'succeeded';
      }, `task ${id} finished`, 60_000);
      return view!;
    },
  };
}

export interface ImageWorkerSuite {
  /** `Go`, `Java`: in the test names. */
  language: string;
  /** Why the worker cannot run here, or undefined. */
  missing: string | undefined;
  /** Its start script (`run.sh`), and a build to run first (tests never run Maven: the jar is built by .ci/run). */
  runScript: string;
  build?: () => void;
  setupTimeoutMs: number;
}

/** png and jpeg only, every operation, fetched and stored over gRPC in several chunks, BAD_INPUT without harm, webp/avif refused. */
export function imageWorkerSuite(o: ImageWorkerSuite): void {
  const tag = o.language.toLowerCase();
  const { group, tmp } = faultFixture(`taskwire-images-${tag}-`);
  const TOKEN = `images-${tag}-token-0123456789abcdef`;
  const ID = `${tag}-img-1`;
  let m: MasterProcess;
  let worker: ManagedProcess;
  const { batch, blob, upload, finished } = imageClient(() => m.httpUrl);

  beforeAll(async () => {
    if (o.missing) return;
    o.build?.();
    m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
    worker = group.spawn(ID, o.runScript, [], {
      env: { TASKWIRE_MQTT_URL: m.mqttUrl, TASKWIRE_CLUSTER_TOKEN: TOKEN, TASKWIRE_WORKER_ID: ID, TASKWIRE_WORKER_CAPACITY: '2', TASKWIRE_SHUTDOWN_GRACE_MS: '1000' },
    });
    await until(async () => (await listWorkers(m.httpUrl)).some((w) => w.id === ID && w.state === 'online'), `the ${o.language} worker online`, 60_000);
  }, o.setupTimeoutMs);

  describe.skipIf(o.missing !== undefined)(`the ${o.language} worker serves image${o.missing ? ` (skipped: ${o.missing})` : ''}`, () => {
    it('advertises image with png and jpeg and processes a multipart batch: fetched and stored over gRPC, in the asked format and size', async () => {
      const w = (await (await fetch(`${m.httpUrl}/api/v1/workers`)).json()) as { workers: { id: string; kinds: string[]; features: string[] }[] };
      const me = w.workers.find((x) => x.id === ID)!;
      expect(me.kinds).toContain('image');
      expect(me.features.filter((f) => f.startsWith('image:format:')).sort()).toEqual(['image:format:jpeg', 'image:format:png']);
      expect(me.features.filter((f) => f.startsWith('image:op:')).length).toBe(12);

      const files = await Promise.all([0, 1, 2].map(async (i) => ({ name: `${tag[0]}${i}.png`, data: await png(300 + i * 20, 200, i * 80) })));
      const ops = [{ op: 'resize', width: 120, height: 60, fit: 'cover' }, { op: 'blur', sigma: 1.5 }, { op: 'brightness', factor: 1.2 }, { op: 'contrast', factor: 1.1 }, { op: 'format', format: 'jpeg', quality: 70 }];
      const done = await batch(files, ops);
      expect(done.status, JSON.stringify(done)).toBe('succeeded');
      expect(done.counts).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
      for (const img of done.images) {
        expect(img).toMatchObject({ status: 'succeeded', worker_id: ID, width: 120, height: 60, content_type: 'image/jpeg' });
        const out = await blob(img.output_blob!);
        expect(out.type).toBe('image/jpeg');
        expect(await sharp(out.data).metadata()).toMatchObject({ format: 'jpeg', width: 120, height: 60 });
      }
      // The other operations in one chain, in the order given: rotate 90 (300x200 -> 200x300) then crop.
      const chain = [
        { op: 'flip', direction: 'both' }, { op: 'rotate', angle: 90 }, { op: 'crop', left: 0, top: 0, width: 100, height: 150 },
        { op: 'sharpen', sigma: 1 }, { op: 'saturation', factor: 0.5 }, { op: 'edge', kernel: 'sobel_x' }, { op: 'grayscale' }, { op: 'format', format: 'png' },
      ];
      const more = await batch([{ name: 'q.png', data: await png(300, 200, 40) }], chain);
      expect(more.images[0], JSON.stringify(more.images[0])).toMatchObject({ status: 'succeeded', width: 100, height: 150 });
      expect(await sharp((await blob(more.images[0]!.output_blob!)).data).metadata()).toMatchObject({ format: 'png', width: 100, height: 150, channels: 1 });

      // A noisy 900x700 PNG (about 1.9 MB: two FetchBlob chunks) rotated 45°, kept png: PutBlob in chunks too.
      const noisy = await sharp({ create: { width: 900, height: 700, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();
      expect(noisy.length).toBeGreaterThan(1024 * 1024);
      const big = await batch([{ name: 'n.png', data: noisy }], [{ op: 'rotate', angle: 45 }]);
      const img = big.images[0]!;
      expect(img, JSON.stringify(img)).toMatchObject({ status: 'succeeded', worker_id: ID, content_type: 'image/png', width: 1132, height: 1132 });
      const out = await blob(img.output_blob!);
      expect(out.data.length).toBe(img.bytes);
      expect(out.data.length).toBeGreaterThan(1024 * 1024);
      const meta = await sharp(out.data).metadata();
      expect(meta).toMatchObject({ format: 'png', width: 1132, height: 1132 });
    }, 180_000);

    it('fails a non-image input and a crop outside the image with BAD_INPUT in one attempt and keeps serving; refuses webp and avif', async () => {
      const junk = await postTask(m.httpUrl, { kind: 'image', input: { blob: await upload('not an image, just text'), ops: [{ op: 'grayscale' }] } });
      expect(await finished(junk!.id)).toMatchObject({ status: 'failed', attempt: 1, worker_id: ID, error: { code: 'BAD_INPUT' } });
      const goodId = await upload(await png(40, 40, 1));
      const outside = await postTask(m.httpUrl, { kind: 'image', input: { blob: goodId, ops: [{ op: 'crop', left: 30, top: 0, width: 20, height: 20 }] } });
      const failed = await finished(outside!.id);
      expect(failed).toMatchObject({ status: 'failed', attempt: 1, worker_id: ID, error: { code: 'BAD_INPUT' } });
      expect(failed.error!.message).toMatch(/^input\.ops\.0: crop 20x20\+30\+0 is outside the 40x40 image/);
      expect(worker.running).toBe(true);
      const ok = await postTask(m.httpUrl, { kind: 'image', input: { blob: goodId, ops: [{ op: 'grayscale' }] } });
      expect(await finished(ok!.id)).toMatchObject({ status: 'succeeded', worker_id: ID });

      // It advertises the formats it writes: the master refuses the task instead of placing it there to fail.
      for (const format of ['webp', 'avif']) {
        const res = await fetch(`${m.httpUrl}/api/v1/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'image', input: { blob: goodId, ops: [{ op: 'format', format }] } }),
        });
        expect(res.status).toBe(400);
        expect(await res.text()).toMatch(new RegExp(`no worker serving \\\\?"image\\\\?" supports format:${format}`));
      }
    }, 120_000);
  });
}
