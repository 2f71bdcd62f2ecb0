/**
 * Per-feature placement on real processes: a TypeScript worker (sharp, writes
 * AVIF) and the Python worker (Pillow; Debian 12's Pillow does not write AVIF)
 * both serve `image` and advertise what they support in
 * WorkerStatus.features. AVIF tasks always land on the TypeScript worker,
 * although the Python worker has free slots; other chains use both. With only
 * the Python worker left, an AVIF batch is refused at submit with a reason
 * naming the missing feature, instead of failing on the worker.
 */
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, listWorkers, spawnWorker, startMasterProcess, until, workerReady, type MasterProcess } from '../fault/fault-cluster.js';
import { PYTHON, PYTHON_WORKER, pythonMissing } from '../conformance/worker-implementations.js';
import type { ManagedProcess } from '../helpers/processes.js';

const noPil = spawnSync(PYTHON, ['-c', 'import PIL'], { stdio: 'pipe' }).status !== 0;
const pilAvif = !noPil && spawnSync(PYTHON, ['-c', 'from PIL import Image; import sys; sys.exit(0 if ".avif" in Image.registered_extensions() else 1)']).status === 0;
const missing = pythonMissing() ?? (noPil ? `${PYTHON} lacks Pillow (apt-get install python3-pil)` : pilAvif ? 'this Pillow writes AVIF: nothing to tell apart' : undefined);
const { group, tmp } = faultFixture('taskwire-images-placement-');
const TOKEN = 'images-placement-token-0123456789';
const TS_ID = 'ts-img-1';
const PY_ID = 'py-img-2';
let m: MasterProcess;
let ts: ManagedProcess;

interface BatchJson {
  id: string;
  status: string;
  counts: Record<string, number>;
  images: { name: string; status: string; worker_id: string | null; content_type: string | null; error: { code: string; message: string } | null }[];
}

async function png(i: number): Promise<Buffer> {
  return sharp({ create: { width: 320 + i, height: 200, channels: 3, background: { r: (i * 37) % 255, g: 60, b: 200 } } }).png().toBuffer();
}

async function postBatch(n: number, ops: unknown, salt: number): Promise<Response> {
  const form = new FormData();
  form.set('ops', JSON.stringify(ops));
  for (let i = 0; i < n; i++) form.append('files', new Blob([new Uint8Array(await png(salt + i))], { type: 'image/png' }), `i${salt + i}.png`);
  return fetch(`${m.httpUrl}/api/v1/images`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
}

async function finished(id: string): Promise<BatchJson> {
  let view: BatchJson | undefined;
  await until(async () => {
    view = (await (await fetch(`${m.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
    return view.status !== 'running';
  }, `batch ${id} finished`, 120_000);
  return view!;
}

beforeAll(async () => {
  if (missing) return;
  m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
  ts = spawnWorker(group, { id: TS_ID, mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 2, env: { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } });
  group.spawn(PY_ID, PYTHON_WORKER, [], {
    env: { TASKWIRE_MQTT_URL: m.mqttUrl, TASKWIRE_CLUSTER_TOKEN: TOKEN, TASKWIRE_WORKER_ID: PY_ID, TASKWIRE_WORKER_CAPACITY: '4', TASKWIRE_WORKER_KINDS: 'image', TASKWIRE_SHUTDOWN_GRACE_MS: '1000' },
  });
  await workerReady(ts, 60_000);
  await until(async () => (await listWorkers(m.httpUrl)).filter((w) => [TS_ID, PY_ID].includes(w.id) && w.state === 'online').length === 2, 'both image workers online', 60_000);
}, 120_000);

describe.skipIf(missing !== undefined)(`image tasks go to a worker that supports their whole chain${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('advertises features: sharp writes avif, this Pillow does not', async () => {
    const workers = (await (await fetch(`${m.httpUrl}/api/v1/workers`)).json()) as { workers: { id: string; features: string[] }[] };
    const f = (id: string) => workers.workers.find((w) => w.id === id)!.features;
    expect(f(TS_ID)).toContain('image:format:avif');
    expect(f(PY_ID)).not.toContain('image:format:avif');
    for (const id of [TS_ID, PY_ID]) expect(f(id)).toEqual(expect.arrayContaining(['image:op:resize', 'image:op:blur', 'image:format:png', 'image:format:jpeg']));
  });

  it('with both workers up, every AVIF image runs on the TypeScript worker; a PNG batch uses both', async () => {
    const ops = [{ op: 'resize', width: 160, height: 100 }, { op: 'blur', sigma: 1 }, { op: 'format', format: 'avif', quality: 50 }];
    const [avifRes, pngRes] = await Promise.all([postBatch(10, ops, 0), postBatch(16, [{ op: 'blur', sigma: 6 }, { op: 'format', format: 'png' }], 100)]);
    expect(avifRes.status, await avifRes.clone().text()).toBe(202);
    expect(pngRes.status).toBe(202);
    const [avif, pngs] = await Promise.all([finished(((await avifRes.json()) as BatchJson).id), finished(((await pngRes.json()) as BatchJson).id)]);
    expect(avif.counts).toMatchObject({ total: 10, succeeded: 10, failed: 0 });
    for (const img of avif.images) expect(img).toMatchObject({ status: 'succeeded', worker_id: TS_ID, content_type: 'image/avif' });
    expect(pngs.counts).toMatchObject({ total: 16, succeeded: 16 });
    // The PNG images were free to go anywhere: the Python worker (4 slots) took some.
    expect(pngs.images.some((i) => i.worker_id === PY_ID), JSON.stringify(pngs.images.map((i) => i.worker_id))).toBe(true);
  }, 180_000);

  it('with only the Python worker, an AVIF batch is refused naming the missing feature; a webp one still runs', async () => {
    await ts.stop();
    await until(async () => (await listWorkers(m.httpUrl)).find((w) => w.id === TS_ID)?.state !== 'online', 'the TypeScript worker offline', 30_000);
    const res = await postBatch(2, [{ op: 'format', format: 'avif' }], 200);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(/no worker serving "image" supports format:avif \(1 online worker of the kind\)/);
    const ok = await postBatch(2, [{ op: 'grayscale' }, { op: 'format', format: 'webp' }], 300);
    expect(ok.status).toBe(202);
    const done = await finished(((await ok.json()) as BatchJson).id);
    for (const img of done.images) expect(img).toMatchObject({ status: 'succeeded', worker_id: PY_ID, content_type: 'image/webp' });
  }, 120_000);
});
