/**
 * Several masters as real processes on one PostgreSQL and one Mosquitto,
 * image batches across them:
 * (1) pooled: a batch made through A, whose share of the workers serves no
 *     image, is run by B's image worker (blobs are shared, so its image
 *     tasks are pooled like any other), and A, which holds the batch,
 *     finishes it from the finals B announces; while B's worker runs an
 *     image, A shows it running there (the shared event stream);
 * (2) taken over: a batch held by A waits (the one image worker busy), A is
 *     killed with -9, and once A's lease ran out B holds the batch; the image
 *     worker free again, B finishes it with every image once, no image
 *     task made again, the row's holder B, its batch.finished on the stream.
 *     A restarted with its old id leaves the batch to B.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { assertCliBuilt } from '../helpers/processes.js';
import { faultFixture, FAST_LEASES, type MasterProcess, spawnWorker, startMasterProcess, until, workerReady } from '../fault/fault-cluster.js';

const available = postgresAvailable() && mosquittoAvailable();
const LEASE_MS = 2000;

type BatchJson = { id: string; status: string; counts: Record<string, number>; images: { status: string; task_id: string | null; attempts: number; worker_id: string | null; output_blob: string | null }[] };

describe.skipIf(!available)(`image batches of a dead master${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres | undefined;
  let broker: Mosquitto | undefined;
  const { group, tmp } = faultFixture('taskwire-multi-batches-', { after: async () => void (await Promise.all([server?.close(), broker?.close()])) });

  const startMaster = (url: string, id: string, root: string): Promise<MasterProcess> =>
    startMasterProcess(group, {
      name: id,
      dataDir: join(tmp.dir, id),
      mqttUrl: broker!.url,
      startTimeoutMs: 60_000,
      env: { ...FAST_LEASES, TASKWIRE_STORE: url, TASKWIRE_MASTERS: 'multi', TASKWIRE_MASTER_ID: id, TASKWIRE_MASTER_LEASE_MS: String(LEASE_MS), TASKWIRE_TOPIC_ROOT: root },
    });

  const workersOn = async (m: MasterProcess): Promise<Map<string, string>> => {
    const res = await fetch(`${m.httpUrl}/api/v1/workers`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (!res?.ok) return new Map();
    return new Map(((await res.json()) as { workers: { id: string; state: string }[] }).workers.map((w) => [w.id, w.state]));
  };

  it('a batch of A run by B\'s worker (pooled); kill -9 of the master holding a waiting batch: a live master takes it over and finishes it, each image once', { timeout: 180_000 }, async () => {
    assertCliBuilt();
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
    const url = await server.createDatabase();
    const root = 'mmb/v1';
    // Shares go by sorted ids: mbw-0 is A's (echo only), mbw-1 is B's (image).
    const a = await startMaster(url, 'mb-a', root);
    const b = await startMaster(url, 'mb-b', root);
    const imageWorker = spawnWorker(group, { id: 'mbw-1', mqttUrl: broker.url, capacity: 1, dir: tmp.dir, env: { TASKWIRE_TOPIC_ROOT: root, TASKWIRE_WORKER_KINDS: 'image,sleep', MALLOC_ARENA_MAX: '2' } });
    await Promise.all([workerReady(spawnWorker(group, { id: 'mbw-0', mqttUrl: broker.url, capacity: 2, dir: tmp.dir, env: { TASKWIRE_TOPIC_ROOT: root, TASKWIRE_WORKER_KINDS: 'echo' } }), 60_000), workerReady(imageWorker, 60_000)]);
    await until(async () => (await workersOn(a)).get('mbw-0') === 'online' && (await workersOn(b)).get('mbw-1') === 'online', "each master serves its share's worker", 60_000);

    const images = async (n: number, tag: number) => {
      const form = new FormData();
      form.set('ops', JSON.stringify([{ op: 'resize', width: 40 }, { op: 'grayscale' }, { op: 'format', format: 'png' }]));
      for (let i = 0; i < n; i++) {
        const png = await sharp({ create: { width: 120 + i * 8, height: 80 + tag, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } }).png().toBuffer();
        form.append('files', new Blob([new Uint8Array(png)], { type: 'image/png' }), `p${i}.png`);
      }
      const made = await fetch(`${a.httpUrl}/api/v1/images`, { method: 'POST', body: form });
      const body = (await made.json()) as BatchJson & { error?: unknown };
      expect([made.status, body.error]).toEqual([202, undefined]);
      return body.id;
    };
    const settledOn = async (m: MasterProcess, id: string, what: string) => {
      let v: BatchJson | undefined;
      await until(async () => {
        const r = await fetch(`${m.httpUrl}/api/v1/batches/${id}`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        v = r?.ok ? ((await r.json()) as BatchJson) : undefined;
        return v?.status === 'succeeded';
      }, what, 90_000, 250);
      return v!;
    };

    // (1) Pooled: A holds the batch, B's worker runs its images, A finishes it.
    const pooled = await images(3, 0);
    const viaA = await settledOn(a, pooled, 'the pooled batch finished on A');
    expect(viaA.images.every((i) => i.worker_id === 'mbw-1' && i.attempts === 1 && i.output_blob !== null)).toBe(true);
    const owners = await queryRows<{ owner: string }>(url, 'SELECT owner FROM tasks WHERE id = ANY($1::text[])', [viaA.images.map((i) => i.task_id)]);
    expect(owners.map((o) => o.owner)).toEqual(['mb-b', 'mb-b', 'mb-b']); // claimed from the pool by B
    expect((await queryRows<{ master: string }>(url, 'SELECT master FROM taskwire_batches WHERE id = $1', [pooled]))[0]!.master).toBe('mb-a');

    // (1b) While B's worker runs an image of A's batch, A shows it running there (from the shared event stream), then done.
    const slowForm = new FormData();
    slowForm.set('ops', JSON.stringify([...Array.from({ length: 8 }, () => ({ op: 'blur', sigma: 12 })), { op: 'format', format: 'png' }]));
    const big = await sharp({ create: { width: 2400, height: 1600, channels: 3, background: { r: 10, g: 200, b: 90 } } }).png().toBuffer();
    slowForm.append('files', new Blob([new Uint8Array(big)], { type: 'image/png' }), 'slow.png');
    const slow = ((await (await fetch(`${a.httpUrl}/api/v1/images`, { method: 'POST', body: slowForm })).json()) as { id: string }).id;
    let seenRunning: BatchJson | undefined;
    await until(async () => {
      const v = (await (await fetch(`${a.httpUrl}/api/v1/batches/${slow}`)).json()) as BatchJson;
      if (v.counts['running'] === 1) seenRunning = v;
      return seenRunning !== undefined || v.status !== 'running';
    }, "A shows the image running on B's worker", 60_000, 50);
    expect(seenRunning, 'A showed the image running before it ended').toBeDefined();
    expect(seenRunning!.images[0]).toMatchObject({ status: 'running', worker_id: 'mbw-1' });
    await settledOn(a, slow, 'the slow batch finished on A');
    const slowEvents = ((await (await fetch(`${a.httpUrl}/api/v1/events?follow=false&since=0&limit=1000&batch=${slow}`)).json()) as { events: { type: string; status?: string; worker_id?: string | null }[] }).events;
    expect(slowEvents.filter((e) => e.type === 'batch.image').map((e) => [e.status, e.worker_id])).toEqual([
      ['running', 'mbw-1'],
      ['succeeded', 'mbw-1'],
    ]);

    // (2) Taken over: the image worker busy with a long sleep (its one slot), A's next batch waits in the pool; A dies.
    const sleep = ((await (await fetch(`${b.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'sleep', input: { ms: 120_000 } }) })).json()) as { id: string }).id;
    await until(async () => ((await (await fetch(`${b.httpUrl}/api/v1/tasks/${sleep}`)).json()) as { status: string }).status === 'running', 'the sleep runs on the image worker', 30_000);
    const id = await images(5, 1);
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await (await fetch(`${a.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
    expect(before).toMatchObject({ status: 'running', counts: { total: 5, queued: 5, succeeded: 0 } });
    expect((await queryRows<{ master: string }>(url, 'SELECT master FROM taskwire_batches WHERE id = $1', [id]))[0]!.master).toBe('mb-a');
    const taskIds = before.images.map((i) => i.task_id);
    const lastEvent = ((await (await fetch(`${b.httpUrl}/api/v1/events?follow=false&since=0&limit=1`)).json()) as { last_id: number }).last_id;

    a.proc.signal('SIGKILL');
    await a.proc.waitForExit(10_000);

    // B holds it once A's lease ran out; the worker free again (the sleep cancelled), B finishes it.
    await until(async () => (await queryRows<{ master: string }>(url, 'SELECT master FROM taskwire_batches WHERE id = $1', [id]))[0]!.master === 'mb-b', 'B holds the batch', 30_000, 250);
    expect((await fetch(`${b.httpUrl}/api/v1/tasks/${sleep}/cancel`, { method: 'POST' })).status).toBe(202);
    const after = await settledOn(b, id, 'the batch finished through B');
    expect(after.counts).toMatchObject({ total: 5, succeeded: 5, failed: 0 });
    // The same tasks ran (re-queued by the leader, run by B's worker): none made again, each image once.
    expect(after.images.map((i) => i.task_id)).toEqual(taskIds);
    expect(after.images.every((i) => i.attempts === 1 && i.worker_id === 'mbw-1' && i.output_blob !== null)).toBe(true);
    expect((await queryRows<{ n: string }>(url, "SELECT count(*) AS n FROM tasks WHERE kind = 'image'"))[0]!.n).toBe('9'); // 3 + 1 + 5: none made again
    expect((await queryRows<{ master: string; finished_at: string | null }>(url, 'SELECT master, finished_at FROM taskwire_batches WHERE id = $1', [id]))[0]).toMatchObject({ master: 'mb-b' });
    expect(b.proc.lines.some((l) => l.text.includes('took over the image batch of a master gone for good') && l.text.includes(id) && l.text.includes('"from":"mb-a"'))).toBe(true);
    const events = ((await (await fetch(`${b.httpUrl}/api/v1/events?follow=false&since=${lastEvent}&batch=${id}`)).json()) as { events: { type: string; status?: string; counts?: { succeeded: number } }[] }).events;
    expect(events.at(-1)).toMatchObject({ type: 'batch.finished', status: 'succeeded', counts: { succeeded: 5 } });
    expect(events.filter((e) => e.type === 'batch.image' && e.status === 'succeeded')).toHaveLength(5);

    // A back with its old id: the batch stays B's (A shows it as B last wrote it).
    const a2 = await startMaster(url, 'mb-a', root);
    const seen = (await (await fetch(`${a2.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
    expect(seen).toMatchObject({ status: 'succeeded', counts: { succeeded: 5 } });
    const retry = await fetch(`${a2.httpUrl}/api/v1/batches/${id}/retry`, { method: 'POST' });
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as { error: { message: string } }).error.message).toContain('mb-b');
  });
});
