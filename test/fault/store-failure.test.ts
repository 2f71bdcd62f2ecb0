/**
 * A store that goes away (issue 12): the database file deleted, or the data
 * directory made read-only, while the master runs. The master must notice,
 * answer /healthz 503, refuse submits with a 503 (code UNAVAILABLE), and
 * never acknowledge (202) a task it cannot keep: after a restart every 202'd
 * task is there. Also: the data dir is created 0700 and the database 0600.
 * Real master (in-process, SQLite store in a temp dir) and workers, port 0.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const dirs: string[] = [];
let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.close().catch(() => undefined);
  cluster = undefined;
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o700);
    rmSync(d, { recursive: true, force: true });
  }
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'taskwire-store-fail-'));
  dirs.push(d);
  return d;
}

async function submit(url: string, i: number): Promise<{ status: number; id?: string; code?: string }> {
  const res = await fetch(`${url}/api/v1/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'echo', input: { text: `t${i}` } }),
  });
  const body = (await res.json()) as { id?: string; task?: { id?: string }; error?: { code?: string } };
  return { status: res.status, id: body.id ?? body.task?.id, code: body.error?.code };
}
const health = (url: string) => fetch(`${url}/healthz`).then(async (r) => ({ status: r.status, body: (await r.json()) as { state?: string } }));

const start = (dataDir: string) => startCluster({ workers: 1, master: { dataDir } });

describe('a store that goes away', () => {
  it('creates the data dir 0700 and the database files 0600', async () => {
    const dataDir = join(tmp(), 'data');
    cluster = await start(dataDir);
    expect((await submit(cluster.httpUrl, 0)).status).toBe(202);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const f of ['taskwire.db', 'taskwire.db-wal', 'taskwire.db-shm']) expect(statSync(join(dataDir, f)).mode & 0o777, f).toBe(0o600);
  });

  it('database file deleted mid-run: /healthz 503, submits 503, nothing acknowledged after the deletion', async () => {
    const dataDir = tmp();
    cluster = await start(dataDir);
    const url = cluster.httpUrl;
    const before: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await submit(url, i);
      expect(r.status).toBe(202);
      before.push(r.id!);
    }
    expect((await health(url)).status).toBe(200);
    for (const f of ['taskwire.db', 'taskwire.db-wal', 'taskwire.db-shm']) unlinkSync(join(dataDir, f));
    const after: { status: number; code?: string }[] = [];
    for (let i = 0; i < 50; i++) after.push(await submit(url, 100 + i));
    const acked = after.filter((r) => r.status === 202).length;
    const h = await waitFor(async () => {
      const x = await health(url);
      return x.status === 503 ? x : undefined;
    }, '/healthz to turn 503', 5000, 50);
    console.log(`store deleted: 202 before ${before.length}, after deletion 202 ${acked} / 503 ${after.filter((r) => r.status === 503).length} of ${after.length}; healthz ${h.status} ${h.body.state}`);
    expect(acked).toBe(0);
    expect(after.every((r) => r.status === 503 && r.code === 'UNAVAILABLE')).toBe(true);
    expect(h.body.state).toBe('store_failed');
  });

  it('data dir made read-only mid-run: /healthz 503, submits 503, a restart shows every 202\'d task', async () => {
    const dataDir = tmp();
    cluster = await start(dataDir);
    const url = cluster.httpUrl;
    const acked: string[] = [];
    let refused = 0;
    let flipped = false;
    for (let i = 0; i < 60; i++) {
      if (i === 30) {
        chmodSync(join(dataDir, 'taskwire.db'), 0o400);
        chmodSync(dataDir, 0o500);
        flipped = true;
      }
      const r = await submit(url, i);
      if (r.status === 202) acked.push(r.id!);
      else {
        expect(r.status).toBe(503);
        expect(flipped).toBe(true);
        refused++;
      }
    }
    const h = await health(url);
    expect(h.status).toBe(503);
    expect(acked.length).toBe(30);
    await cluster.close();
    cluster = undefined;
    chmodSync(dataDir, 0o700);
    chmodSync(join(dataDir, 'taskwire.db'), 0o600);
    cluster = await start(dataDir);
    let found = 0;
    for (const id of acked) {
      const r = await fetch(`${cluster.httpUrl}/api/v1/tasks/${id}`);
      if (r.status === 200) found++;
    }
    console.log(`store read-only: 202 ${acked.length}, 503 ${refused}; after restart ${found} of ${acked.length} acknowledged tasks found`);
    expect(found).toBe(acked.length);
    expect((await health(cluster.httpUrl)).status).toBe(200);
  });
});
