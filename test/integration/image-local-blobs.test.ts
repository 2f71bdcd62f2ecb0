/**
 * Workers on the master's host read input blobs from its blob directory
 * (TASKWIRE_BLOB_DIR / WorkerOptions.blobDir) instead of FetchBlob: a real
 * master with a data dir, real workers with the image handler, image tasks
 * over REST. The worker's `taskwire_worker_blob_fetches_total{source}` tells
 * where each input came from; the output is the same either way. A worker
 * whose directory lacks the blob (another master's, a PostgreSQL store's)
 * falls back to FetchBlob; a worker without the directory always uses it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../worker/worker.js';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'taskwire-local-blobs-'));
const empty = mkdtempSync(join(tmpdir(), 'taskwire-local-blobs-empty-'));
let c: TestCluster;

const OPS = [
  { op: 'resize', width: 160, height: 90 },
  { op: 'grayscale' },
  { op: 'format', format: 'png' },
];

async function fetches(w: Worker): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
  const out: Record<string, number> = { local: 0, master: 0 };
  for (const m of text.matchAll(/^taskwire_worker_blob_fetches_total\{[^}]*source="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Runs one image task on `w` (the only image worker online) and returns its output bytes. */
async function runOn(w: Worker, seed: number): Promise<{ out: Buffer; status: string }> {
  const input = await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: seed, g: 40, b: 90 } } }).png().toBuffer();
  const blob = await c.master.blobs.put(input, 'image/png');
  await waitFor(() => c.master.registry.schedulable().some((x) => x.id === w.id) || undefined, `${w.id} online`, 10_000);
  const t = await runTask(c.httpUrl, { kind: 'image', input: { blob: blob.id, ops: OPS } }, 30_000);
  const output = t.result as { blob?: string } | null;
  if (t.status !== 'succeeded' || !output?.blob) return { out: Buffer.alloc(0), status: `${t.status} ${JSON.stringify(t.error)}` };
  return { out: Buffer.from(await (await fetch(`${c.httpUrl}/api/v1/blobs/${output.blob}`)).arrayBuffer()), status: t.status };
}

beforeAll(async () => {
  c = await startCluster({ workers: 0, master: { dataDir: dir } });
});

afterAll(async () => {
  await c?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('input blobs read from the master blob directory', () => {
  it('the master names its blob directory when blobs are files', () => {
    expect(c.master.blobDir).toBe(join(dir, 'blobs'));
  });

  it('a co-located worker reads the input from the directory, a remote one fetches it, and both give the same output', async () => {
    const local = await c.addWorker({ kinds: ['image'], metricsPort: 0, metricsHost: '127.0.0.1', blobDir: c.master.blobDir! }, { handlers: [new ImageHandler()] });
    const a = await runOn(local, 30);
    expect(a.status).toBe('succeeded');
    expect(await fetches(local)).toEqual({ local: 1, master: 0 });
    await local.close();
    await waitFor(() => !c.master.registry.schedulable().some((x) => x.id === local.id) || undefined, `${local.id} gone`, 10_000);

    const remote = await c.addWorker({ kinds: ['image'], metricsPort: 0, metricsHost: '127.0.0.1' }, { handlers: [new ImageHandler()] });
    const b = await runOn(remote, 30);
    expect(b.status).toBe('succeeded');
    expect(await fetches(remote)).toEqual({ local: 0, master: 1 });
    expect(Buffer.compare(a.out, b.out), 'same output bytes').toBe(0);
    expect((await sharp(a.out).metadata()).width).toBe(160);
    await remote.close();
    await waitFor(() => !c.master.registry.schedulable().some((x) => x.id === remote.id) || undefined, `${remote.id} gone`, 10_000);
  });

  it('a worker whose directory lacks the blob falls back to FetchBlob', async () => {
    const w = await c.addWorker({ kinds: ['image'], metricsPort: 0, metricsHost: '127.0.0.1', blobDir: empty }, { handlers: [new ImageHandler()] });
    const r = await runOn(w, 77);
    expect(r.status).toBe('succeeded');
    expect(await fetches(w)).toEqual({ local: 0, master: 1 });
    await w.close();
  });
});
