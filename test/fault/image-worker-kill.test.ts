/**
 * kill -9 of an image worker in the middle of a batch: the batch still
 * completes, every image exactly once in the manifest, and only the image(s)
 * the killed worker was running run again (on the survivor).
 */
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { faultFixture, printCounts, spawnWorker, startMasterProcess, until, workerReady } from './fault-cluster.js';

const { group, tmp } = faultFixture('taskwire-image-kill-');
const TOKEN = 'image-kill-token-0123456789';
const N = 12;

interface BatchJson {
  id: string;
  status: string;
  counts: Record<string, number>;
  images: { name: string; status: string; task_id: string; output_blob: string | null; worker_id: string | null }[];
}

it('a batch survives kill -9 of one of two image workers; only its running image re-runs', async () => {
  const m = await startMasterProcess(group, { dataDir: `${tmp.dir}/data`, clusterToken: TOKEN });
  const env = { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' };
  const w1 = spawnWorker(group, { id: 'imgk-1', mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 1, env });
  const w2 = spawnWorker(group, { id: 'imgk-2', mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 1, env });
  await Promise.all([workerReady(w1), workerReady(w2)]);

  const form = new FormData();
  // Heavy enough (large blur on 1600x1200) that the kill lands mid-image.
  form.set('ops', JSON.stringify([{ op: 'blur', sigma: 12 }, { op: 'sharpen' }, { op: 'format', format: 'png' }]));
  for (let i = 0; i < N; i++) {
    const img = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: i * 20, g: 40, b: 90 } } }).png().toBuffer();
    form.append('files', new Blob([new Uint8Array(img)], { type: 'image/png' }), `k-${i}.png`);
  }
  const res = await fetch(`${m.httpUrl}/api/v1/images`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as BatchJson;

  // Kill imgk-2 while it runs an image (and after it finished at least one).
  await until(
    async () => {
      const b = (await (await fetch(`${m.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
      const workers = (await (await fetch(`${m.httpUrl}/api/v1/workers`)).json()) as { workers: { id: string; running: number }[] };
      return b.images.some((i) => i.worker_id === 'imgk-2' && i.status === 'succeeded') && (workers.workers.find((w) => w.id === 'imgk-2')?.running ?? 0) > 0;
    },
    'imgk-2 busy after one image',
    60_000,
    20,
  );
  await w2.kill9();

  let batch!: BatchJson;
  await until(
    async () => {
      batch = (await (await fetch(`${m.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
      return batch.status !== 'running';
    },
    'batch finished',
    120_000,
  );
  expect(batch.status).toBe('succeeded');
  expect(batch.counts).toMatchObject({ total: N, succeeded: N, failed: 0 });
  expect(new Set(batch.images.map((i) => i.name)).size).toBe(N);
  expect(new Set(batch.images.map((i) => i.task_id)).size).toBe(N);
  expect(batch.images.every((i) => i.output_blob)).toBe(true);

  // Attempts per image: only what imgk-2 held when it died ran twice.
  const attempts = await Promise.all(
    batch.images.map(async (i) => ((await (await fetch(`${m.httpUrl}/api/v1/tasks/${i.task_id}`)).json()) as { attempt: number }).attempt),
  );
  const rerun = attempts.filter((a) => a > 1).length;
  const byKilled = batch.images.filter((i) => i.worker_id === 'imgk-2').length;
  const names = batch.images.map((i) => i.name);
  printCounts('image batch, kill -9 of one of two workers', {
    submitted: N,
    succeeded: batch.counts.succeeded!,
    lost: N - batch.counts.succeeded!,
    duplicate_results: names.length - new Set(names).size,
    rerun,
    finished_on_killed_worker: byKilled,
    finished_on_survivor: N - byKilled,
  });
  expect(rerun).toBeGreaterThanOrEqual(1);
  expect(rerun).toBeLessThanOrEqual(1); // capacity 1: it held exactly one image
  expect(byKilled).toBeGreaterThanOrEqual(1);
}, 180_000);
