/**
 * Image batches survive a master restart: a real master process with a real
 * image worker runs a batch; the master is killed (-9) in the middle of it
 * and a new master process comes up on the same ports and store. The batch is
 * still there with what it had done (the same outputs and tasks for the
 * images finished before the kill, none of them run again), and it finishes
 * with every image once in the manifest and its ZIP. Once with SQLite in the
 * data dir (`batches.db`), once with the store on a real PostgreSQL (the
 * batch rows are in the database, no `batches.db`; the blobs stay in the data
 * dir, which both masters share).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultFixture, spawnWorker, startMasterProcess, until, workerReady, type MasterProcess } from '../fault/fault-cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import type { ManagedProcess } from '../helpers/processes.js';

const { group, tmp } = faultFixture('taskwire-images-restart-');
const TOKEN = 'images-restart-token-0123456789';
const N = 10;

interface BatchJson {
  id: string;
  status: string;
  counts: Record<string, number>;
  images: { name: string; status: string; task_id: string | null; attempts: number; output_blob: string | null; worker_id: string | null }[];
}

const getBatch = async (m: MasterProcess, id: string): Promise<BatchJson> => (await (await fetch(`${m.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;

async function scenario(name: string, env: Record<string, string>, dataDirs: [string, string]): Promise<void> {
  let m = await startMasterProcess(group, { name: `${name}-master#1`, dataDir: dataDirs[0], clusterToken: TOKEN, env, startTimeoutMs: 90_000 });
  const ports = { httpPort: m.httpPort, grpcPort: m.grpcPort, mqttPort: Number(new URL(m.mqttUrl).port) };
  const w: ManagedProcess = spawnWorker(group, {
    id: `${name}-img`, mqttUrl: m.mqttUrl, clusterToken: TOKEN, dir: tmp.dir, capacity: 1, env: { TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' },
  });
  await workerReady(w, 60_000);

  const form = new FormData();
  // Heavy enough per image (blur 10 on 1600x1200) that the kill lands mid-batch.
  form.set('ops', JSON.stringify([{ op: 'blur', sigma: 10 }, { op: 'brightness', factor: 1.1 }, { op: 'format', format: 'jpeg', quality: 80 }]));
  for (let i = 0; i < N; i++) {
    const img = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: (i * 23) % 255, g: 90, b: 40 } } }).png().toBuffer();
    form.append('files', new Blob([new Uint8Array(img)], { type: 'image/png' }), `${name}-${i}.png`);
  }
  const res = await fetch(`${m.httpUrl}/api/v1/images`, { method: 'POST', body: form });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as BatchJson;

  let before!: BatchJson;
  await until(async () => {
    before = await getBatch(m, id);
    return before.counts.succeeded! >= 2;
  }, 'two images done', 120_000, 20);
  expect(before.status).toBe('running');
  await m.proc.kill9();

  m = await startMasterProcess(group, { name: `${name}-master#2`, dataDir: dataDirs[1], clusterToken: TOKEN, env, ...ports, startTimeoutMs: 90_000 });
  // The batch is there at once, with at least what it had done.
  const right = await getBatch(m, id);
  expect(right.id).toBe(id);
  expect(right.counts.total).toBe(N);
  expect(right.counts.succeeded).toBeGreaterThanOrEqual(before.counts.succeeded!);

  let after!: BatchJson;
  await until(async () => {
    after = await getBatch(m, id);
    return after.status !== 'running';
  }, 'the batch finished after the restart', 180_000);
  expect(after.status, JSON.stringify(after.counts)).toBe('succeeded');
  expect(after.counts).toMatchObject({ total: N, succeeded: N, failed: 0 });
  expect(new Set(after.images.map((i) => i.name)).size).toBe(N);
  // What was done before the kill was not done again: same task, same output, one attempt.
  for (const b of before.images.filter((i) => i.status === 'succeeded')) {
    const a = after.images.find((i) => i.name === b.name)!;
    expect(a).toMatchObject({ status: 'succeeded', task_id: b.task_id, output_blob: b.output_blob, attempts: 1 });
  }
  for (const img of after.images) {
    const out = await fetch(`${m.httpUrl}/api/v1/blobs/${img.output_blob}`);
    expect(out.headers.get('content-type')).toBe('image/jpeg');
    expect((await sharp(Buffer.from(await out.arrayBuffer())).metadata()).width).toBe(1600);
  }
  const zip = await fetch(`${m.httpUrl}/api/v1/batches/${id}/zip`);
  expect(zip.status).toBe(200);
  console.log(`[${name}] before the kill: ${before.counts.succeeded}/${N} done; after the restart: ${after.counts.succeeded}/${N}, attempts ${after.images.map((i) => i.attempts).join(',')}`);
  await w.stop();
  await m.proc.stop();
}

it('SQLite: a batch survives kill -9 of the master and a restart on the same data dir', async () => {
  const dir = join(tmp.dir, 'sqlite');
  await scenario('sq', {}, [dir, dir]);
  expect(existsSync(join(dir, 'batches.db'))).toBe(true);
}, 300_000);

const pgOk = postgresAvailable();
describe.skipIf(!pgOk)(`PostgreSQL${pgOk ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  beforeAll(async () => {
    server = await Postgres.start();
  }, 60_000);
  afterAll(async () => server?.close());

  it('a batch survives kill -9 of the master; a new master on the same database has it', async () => {
    const url = await server.createDatabase();
    const dir = join(tmp.dir, 'pg');
    await scenario('pg', { TASKWIRE_STORE: url }, [dir, dir]);
    expect(existsSync(join(dir, 'batches.db'))).toBe(false);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM taskwire_batch_items');
      expect(Number(r.rows[0]!.n)).toBe(N);
    } finally {
      await c.end();
    }
  }, 300_000);
});
