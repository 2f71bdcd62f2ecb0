/**
 * Placement by input format on real processes: a master from dist/, the Java
 * worker (ImageIO: no webp decoder; 4 slots) and a TypeScript worker (sharp
 * reads webp; 1 slot) both serve `image`. Each advertises the input formats
 * it decodes (`image:read:<format>`), and the master reads each input blob's
 * format at submit: every webp input, from a batch (POST /api/v1/images) or a
 * task (POST /api/v1/tasks), runs on the TypeScript worker although the Java
 * worker has free slots, and none fails; png inputs go to both. With only the
 * Java worker left, a webp input is refused at submit naming read:webp
 * instead of failing on the worker with BAD_INPUT, and a png one still runs.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, listWorkers, spawnWorker, startMasterProcess, until, workerReady, type MasterProcess } from '../fault/fault-cluster.js';
import { JAVA_WORKER_DIR, javaMissing } from '../conformance/worker-implementations.js';
import type { ManagedProcess } from '../helpers/processes.js';
import { imageClient, png, type BatchJson } from './image-worker-suite.js';

const missing = javaMissing();
const { group, tmp } = faultFixture('taskwire-images-read-');
const TOKEN = 'images-read-token-0123456789abcdef';
const TS_ID = 'ts-read-1';
const JAVA_ID = 'java-read-2';
let m: MasterProcess;
let ts: ManagedProcess;
const { finished } = imageClient(() => m.httpUrl);

async function webp(i: number): Promise<Buffer> {
  return sharp({ create: { width: 200 + i, height: 120, channels: 3, background: { r: (i * 41) % 255, g: 90, b: 30 } } }).webp().toBuffer();
}

/** A multipart batch; the parts' declared type is octet-stream: the master tells the format from the bytes. */
async function postBatch(files: Buffer[], ops: unknown, prefix: string): Promise<Response> {
  const form = new FormData();
  form.set('ops', JSON.stringify(ops));
  files.forEach((data, i) => form.append('files', new Blob([new Uint8Array(data)], { type: 'application/octet-stream' }), `${prefix}${i}`));
  return fetch(`${m.httpUrl}/api/v1/images`, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
}

async function done(res: Response): Promise<BatchJson> {
  expect(res.status, await res.clone().text()).toBe(202);
  const id = ((await res.json()) as BatchJson).id;
  let view: BatchJson | undefined;
  await until(async () => {
    view = (await (await fetch(`${m.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
    return view.status !== 'running';
  }, `batch ${id} finished`, 120_000);
  return view!;
}

async function upload(data: Buffer): Promise<string> {
  const res = await fetch(`${m.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(data) }); // the declared type lies
  return ((await res.json()) as { id: string }).id;
}

async function submit(blob: string, ops: unknown): Promise<Response> {
  return fetch(`${m.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'image', input: { blob, ops } }) });
}

beforeAll(async () => {
  if (missing) return;
  m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
  ts = spawnWorker(group, { id: TS_ID, mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 1, env: { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } });
  group.spawn(JAVA_ID, join(JAVA_WORKER_DIR, 'run.sh'), [], {
    env: { TASKWIRE_MQTT_URL: m.mqttUrl, TASKWIRE_CLUSTER_TOKEN: TOKEN, TASKWIRE_WORKER_ID: JAVA_ID, TASKWIRE_WORKER_CAPACITY: '4', TASKWIRE_SHUTDOWN_GRACE_MS: '1000' },
  });
  await workerReady(ts, 60_000);
  await until(async () => (await listWorkers(m.httpUrl)).filter((w) => [TS_ID, JAVA_ID].includes(w.id) && w.state === 'online').length === 2, 'both image workers online', 90_000);
}, 150_000);

describe.skipIf(missing !== undefined)(`image inputs go to a worker that reads their format${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('advertises the formats each decodes: sharp reads webp, ImageIO does not', async () => {
    const workers = (await (await fetch(`${m.httpUrl}/api/v1/workers`)).json()) as { workers: { id: string; features: string[] }[] };
    const f = (id: string) => workers.workers.find((w) => w.id === id)!.features;
    expect(f(TS_ID)).toEqual(expect.arrayContaining(['image:read:webp', 'image:read:avif', 'image:read:png', 'image:read:jpeg']));
    expect(f(JAVA_ID)).toEqual(expect.arrayContaining(['image:read:png', 'image:read:jpeg', 'image:read:gif', 'image:read:bmp', 'image:read:tiff']));
    expect(f(JAVA_ID)).not.toContain('image:read:webp');
    expect(f(JAVA_ID)).not.toContain('image:read:avif');
  });

  it('every webp input runs on the TypeScript worker, batch or task, none fails; png inputs use both', async () => {
    const ops = [{ op: 'resize', width: 100, height: 60 }, { op: 'blur', sigma: 1 }, { op: 'format', format: 'png' }];
    const webps = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(webp));
    const pngs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => png(300 + i, 200, i * 20)));
    const direct = await Promise.all([100, 101, 102].map(async (i) => submit(await upload(await webp(i)), ops)));
    const [wb, pb] = await Promise.all([postBatch(webps, ops, 'w'), postBatch(pngs, [{ op: 'blur', sigma: 6 }, { op: 'format', format: 'png' }], 'p')]);
    const [webpBatch, pngBatch] = await Promise.all([done(wb), done(pb)]);
    expect(webpBatch.counts).toMatchObject({ total: 8, succeeded: 8, failed: 0 });
    for (const img of webpBatch.images) expect(img, JSON.stringify(img)).toMatchObject({ status: 'succeeded', worker_id: TS_ID, width: 100, height: 60 });
    for (const res of direct) {
      expect(res.status, await res.clone().text()).toBe(202);
      const t = await finished(((await res.json()) as { id: string }).id);
      expect(t).toMatchObject({ status: 'succeeded', worker_id: TS_ID });
    }
    expect(pngBatch.counts).toMatchObject({ total: 12, succeeded: 12 });
    // The png inputs were free to go anywhere: the Java worker (4 slots to the TypeScript worker's 1) took some.
    expect(pngBatch.images.some((i) => i.worker_id === JAVA_ID), JSON.stringify(pngBatch.images.map((i) => i.worker_id))).toBe(true);
  }, 240_000);

  it('with only the Java worker, a webp input is refused naming read:webp (a mixed batch whole, naming the webp image); a png one still runs there', async () => {
    await ts.stop();
    await until(async () => (await listWorkers(m.httpUrl)).find((w) => w.id === TS_ID)?.state !== 'online', 'the TypeScript worker offline', 30_000);
    const batch = await postBatch([await webp(200)], [{ op: 'grayscale' }], 'x');
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { error: { message: string } }).error.message).toMatch(/no worker serving "image" supports read:webp \(1 online worker of the kind\)/);
    // A mixed batch is refused whole, naming the image no online worker reads: no task of the png before it.
    const imageTasks = async () => ((await (await fetch(`${m.httpUrl}/api/v1/tasks?kind=image&limit=1000`)).json()) as { tasks: unknown[] }).tasks.length;
    const tasksBefore = await imageTasks();
    const mixed = await postBatch([await png(60, 40, 9), await webp(202)], [{ op: 'grayscale' }], 'mixed');
    expect(mixed.status).toBe(400);
    const mixedError = ((await mixed.json()) as { error: { field: string; message: string } }).error;
    expect(mixedError.field).toBe('files.1.input');
    expect(mixedError.message).toMatch(/supports read:webp/);
    expect(await imageTasks()).toBe(tasksBefore);
    const task = await submit(await upload(await webp(201)), [{ op: 'grayscale' }]);
    expect(task.status).toBe(400);
    expect(await task.text()).toMatch(/supports read:webp/);
    const ok = await done(await postBatch([await png(50, 40, 7)], [{ op: 'grayscale' }], 'y'));
    expect(ok.images[0]).toMatchObject({ status: 'succeeded', worker_id: JAVA_ID });
  }, 120_000);
});
