/**
 * The Python worker's `image` kind (Pillow, Debian python3-pil) on a real
 * image batch: a master process from dist/ and only the Python worker
 * serving `image`; a multipart batch through POST /api/v1/images fans out to
 * it, it fetches every input with gRPC FetchBlob, runs the chain in order
 * and stores the output with PutBlob; the manifest names the Python worker
 * and the stored outputs have the asked format and size. A non-image input
 * fails its task with BAD_INPUT and the worker goes on; a format its Pillow
 * does not write (avif on Debian 12's Pillow 9) is not advertised, so the
 * master refuses such a task (400) rather than place it on the worker.
 */
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, listWorkers, postTask, startMasterProcess, until, type MasterProcess } from '../fault/fault-cluster.js';
import { PYTHON, PYTHON_WORKER, pythonMissing } from '../conformance/worker-implementations.js';
import type { ManagedProcess } from '../helpers/processes.js';
import { imageClient, png } from './image-worker-suite.js';

const noPil = spawnSync(PYTHON, ['-c', 'import PIL'], { stdio: 'pipe' }).status !== 0;
const missing = pythonMissing() ?? (noPil ? `${PYTHON} lacks Pillow (apt-get install python3-pil)` : undefined);
const { group, tmp } = faultFixture('taskwire-images-py-');
const TOKEN = 'images-python-token-0123456789';
const PY_ID = 'py-img-1';
let m: MasterProcess;
let py: ManagedProcess;
const { batch } = imageClient(() => m.httpUrl);

beforeAll(async () => {
  if (missing) return;
  m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
  py = group.spawn(PY_ID, PYTHON_WORKER, [], {
    env: { TASKWIRE_MQTT_URL: m.mqttUrl, TASKWIRE_CLUSTER_TOKEN: TOKEN, TASKWIRE_WORKER_ID: PY_ID, TASKWIRE_WORKER_CAPACITY: '2', TASKWIRE_WORKER_KINDS: 'image', TASKWIRE_SHUTDOWN_GRACE_MS: '1000' },
  });
  await until(async () => (await listWorkers(m.httpUrl)).some((w) => w.id === PY_ID && w.state === 'online'), 'the Python worker online', 60_000);
}, 90_000);

describe.skipIf(missing !== undefined)(`the Python worker serves image with Pillow${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('advertises image and processes a multipart batch: outputs fetched and stored over gRPC, in the asked format and size', async () => {
    const w = (await listWorkers(m.httpUrl)).find((x) => x.id === PY_ID) as unknown as { kinds: string[] };
    expect(w.kinds).toEqual(['image']);
    const files = await Promise.all([0, 1, 2].map(async (i) => ({ name: `p${i}.png`, data: await png(300 + i * 20, 200, i * 80) })));
    const ops = [{ op: 'resize', width: 120, height: 60, fit: 'cover' }, { op: 'blur', sigma: 1.5 }, { op: 'brightness', factor: 1.2 }, { op: 'contrast', factor: 1.1 }, { op: 'format', format: 'webp', quality: 70 }];
    const done = await batch(files, ops);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.counts).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
    for (const img of done.images) {
      expect(img).toMatchObject({ status: 'succeeded', worker_id: PY_ID, width: 120, height: 60, content_type: 'image/webp' });
      const out = await fetch(`${m.httpUrl}/api/v1/blobs/${img.output_blob}`);
      expect(out.headers.get('content-type')).toBe('image/webp');
      expect(await sharp(Buffer.from(await out.arrayBuffer())).metadata()).toMatchObject({ format: 'webp', width: 120, height: 60 });
    }
    // Every other operation Pillow serves, in one chain, in the order given: rotate 90 then crop.
    const chain = [
      { op: 'flip', direction: 'both' }, { op: 'rotate', angle: 90 }, { op: 'crop', left: 0, top: 0, width: 100, height: 150 },
      { op: 'sharpen', sigma: 1 }, { op: 'saturation', factor: 0.5 }, { op: 'edge', kernel: 'sobel_x' }, { op: 'grayscale' }, { op: 'format', format: 'png' },
    ];
    const more = await batch([{ name: 'q.png', data: await png(300, 200, 40) }], chain);
    expect(more.images[0]).toMatchObject({ status: 'succeeded', width: 100, height: 150 });
    const meta = await sharp(Buffer.from(await (await fetch(`${m.httpUrl}/api/v1/blobs/${more.images[0]!.output_blob}`)).arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 100, height: 150, channels: 1 });
  }, 120_000);

  it('fails a non-image input with BAD_INPUT and keeps serving; refuses a format its Pillow does not write', async () => {
    const junk = await fetch(`${m.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'not an image, just text' });
    const junkId = ((await junk.json()) as { id: string }).id;
    const t = await postTask(m.httpUrl, { kind: 'image', input: { blob: junkId, ops: [{ op: 'grayscale' }] } });
    let view: { status: string; attempt: number; worker_id: string | null; error: { code: string; message: string } | null } | undefined;
    await until(async () => {
      view = (await (await fetch(`${m.httpUrl}/api/v1/tasks/${t!.id}`)).json()) as typeof view;
      return view!.status === 'failed' || view!.status === 'succeeded';
    }, 'the junk image task finished', 60_000);
    expect(view).toMatchObject({ status: 'failed', attempt: 1, worker_id: PY_ID, error: { code: 'BAD_INPUT' } });
    expect(py.running).toBe(true);

    const good = await fetch(`${m.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(await png(40, 40, 1)) });
    const goodId = ((await good.json()) as { id: string }).id;
    const writesAvif = spawnSync(PYTHON, ['-c', 'from PIL import Image; import sys; sys.exit(0 if ".avif" in Image.registered_extensions() else 1)']).status === 0;
    const w = (await (await fetch(`${m.httpUrl}/api/v1/workers`)).json()) as { workers: { id: string; features: string[] }[] };
    expect(w.workers.find((x) => x.id === PY_ID)!.features.includes('image:format:avif')).toBe(writesAvif);
    const res = await fetch(`${m.httpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'image', input: { blob: goodId, ops: [{ op: 'format', format: 'avif' }] } }),
    });
    if (writesAvif) {
      expect(res.status).toBe(202);
    } else {
      // It advertises the formats its Pillow writes: the master refuses the task instead of placing it there to fail.
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/no worker serving \\?"image\\?" supports format:avif/);
    }
  }, 120_000);
});
