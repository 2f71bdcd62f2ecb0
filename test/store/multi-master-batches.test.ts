/**
 * Several masters as real processes on one PostgreSQL and one Mosquitto: an
 * image batch held by a master that is killed with -9 is taken over by a
 * live one once the dead master's lease ran out. The batch made through A
 * waits on A (A's share of the workers serves no image); after the kill
 * the leader re-queues A's image tasks, B's image worker runs them, and B
 * holds the batch: it finishes with every image once, no image task made
 * again, the row's holder is B, and the stream carries its batch.finished.
 * A restarted with its old id leaves the batch to B.
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

  it('kill -9 of the master holding a running batch: a live master takes it over and finishes it, each image once', { timeout: 180_000 }, async () => {
    assertCliBuilt();
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
    const url = await server.createDatabase();
    const root = 'mmb/v1';
    // Shares go by sorted ids: mbw-0 is A's (echo only), mbw-1 is B's (image).
    const a = await startMaster(url, 'mb-a', root);
    const b = await startMaster(url, 'mb-b', root);
    await Promise.all([
      workerReady(spawnWorker(group, { id: 'mbw-0', mqttUrl: broker.url, capacity: 2, dir: tmp.dir, env: { TASKWIRE_TOPIC_ROOT: root, TASKWIRE_WORKER_KINDS: 'echo' } }), 60_000),
      workerReady(spawnWorker(group, { id: 'mbw-1', mqttUrl: broker.url, capacity: 2, dir: tmp.dir, env: { TASKWIRE_TOPIC_ROOT: root, TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } }), 60_000),
    ]);
    await until(async () => (await workersOn(a)).get('mbw-0') === 'online' && (await workersOn(b)).get('mbw-1') === 'online', "each master serves its share's worker", 60_000);

    const form = new FormData();
    form.set('ops', JSON.stringify([{ op: 'resize', width: 40 }, { op: 'grayscale' }, { op: 'format', format: 'png' }]));
    for (let i = 0; i < 5; i++) {
      const png = await sharp({ create: { width: 120 + i * 8, height: 80, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } }).png().toBuffer();
      form.append('files', new Blob([new Uint8Array(png)], { type: 'image/png' }), `p${i}.png`);
    }
    const made = await fetch(`${a.httpUrl}/api/v1/images`, { method: 'POST', body: form });
    expect(made.status).toBe(202);
    const id = ((await made.json()) as BatchJson).id;
    // A holds it and its images wait there: no worker of A's serves image.
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await (await fetch(`${a.httpUrl}/api/v1/batches/${id}`)).json()) as BatchJson;
    expect(before).toMatchObject({ status: 'running', counts: { total: 5, queued: 5, succeeded: 0 } });
    expect((await queryRows<{ master: string }>(url, 'SELECT master FROM taskwire_batches WHERE id = $1', [id]))[0]!.master).toBe('mb-a');
    const taskIds = before.images.map((i) => i.task_id);
    const lastEvent = ((await (await fetch(`${b.httpUrl}/api/v1/events?follow=false&since=0&limit=1`)).json()) as { last_id: number }).last_id;

    a.proc.signal('SIGKILL');
    await a.proc.waitForExit(10_000);

    const after = await (async () => {
      let v: BatchJson | undefined;
      await until(async () => {
        const r = await fetch(`${b.httpUrl}/api/v1/batches/${id}`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        v = r?.ok ? ((await r.json()) as BatchJson) : undefined;
        return v?.status === 'succeeded';
      }, 'the batch finished through B', 90_000, 250);
      return v!;
    })();
    expect(after.counts).toMatchObject({ total: 5, succeeded: 5, failed: 0 });
    // The same tasks ran (re-queued by the leader, run by B's worker): none made again, each image once.
    expect(after.images.map((i) => i.task_id)).toEqual(taskIds);
    expect(after.images.every((i) => i.attempts === 1 && i.worker_id === 'mbw-1' && i.output_blob !== null)).toBe(true);
    expect((await queryRows<{ n: string }>(url, "SELECT count(*) AS n FROM tasks WHERE kind = 'image'"))[0]!.n).toBe('5');
    expect((await queryRows<{ master: string; finished_at: string | null }>(url, 'SELECT master, finished_at FROM taskwire_batches WHERE id = $1', [id]))[0]).toMatchObject({ master: 'mb-b' });
    expect(b.proc.lines.some((l) => l.text.includes('took over the image batch of a master gone for good') && l.text.includes(id))).toBe(true);
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
