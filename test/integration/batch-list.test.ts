/**
 * `GET /api/v1/batches` on a real master (port 0) with a real image worker
 * (sharp, in process), once per batch store: memory (no data dir), SQLite
 * (`batches.db`) and a real PostgreSQL. Batches of two tenants and a user key,
 * one of them failing (a crop outside its image): pages of 2 over all of a
 * tenant's batches, newest first, without a repeat or a gap; the status
 * filter; each key sees only its scope (a tenant's key its tenant's, a user
 * key its own, the cluster operator all); a bad limit, cursor or status is a
 * 400 naming the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';
import type { MasterOptions } from '../../master/config.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';

const ADMIN = 'tw-batch-list-admin-key-7c1e';

interface Summary {
  id: string;
  status: string;
  created_at_ms: number;
  counts: Record<string, number>;
  ops: unknown[];
  images?: unknown;
}

async function call(c: TestCluster, method: string, path: string, secret: string, body?: unknown, raw?: Buffer) {
  const res = await fetch(`${c.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...(raw && { 'content-type': 'image/png' }) },
    body: raw ? new Uint8Array(raw) : body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const png = (r: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r, g: 40, b: 90 } } }).png().toBuffer();

/** Every page of the listing at `query` with `limit`, following next_cursor. */
async function allPages(c: TestCluster, secret: string, query: string, limit: number): Promise<{ pages: Summary[][]; items: Summary[] }> {
  const pages: Summary[][] = [];
  let cursor: string | null = null;
  do {
    const r = await call(c, 'GET', `/api/v1/batches?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, secret);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.batches.length).toBeLessThanOrEqual(limit);
    pages.push(r.body.batches);
    cursor = r.body.next_cursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor);
  return { pages, items: pages.flat() };
}

const newestFirst = (a: Summary, b: Summary) => b.created_at_ms - a.created_at_ms || (a.id < b.id ? 1 : -1);

function scenario(master: () => Promise<MasterOptions>) {
  let c: TestCluster;
  const key = { acme: '', globex: '', user: '' };
  const made = { acme: [] as Summary[], globex: [] as Summary[], user: [] as Summary[] };
  let failedId = '';

  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { apiKeys: [ADMIN], ...(await master()) } });
    for (const t of ['acme', 'globex'] as const) {
      expect((await call(c, 'POST', '/api/v1/admin/tenants', ADMIN, { id: t })).status).toBe(201);
      key[t] = (await call(c, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: t, scopes: ['submit', 'read', 'operate'] })).body.secret;
    }
    key.user = (await call(c, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['submit', 'read'] })).body.secret;
    await c.addWorker({ kinds: ['image'] }, { handlers: [new ImageHandler()] });
    await c.waitForWorkers(1, 30_000);
    const submit = async (who: keyof typeof key, shade: number, ops: unknown[]) => {
      const blob = (await call(c, 'POST', '/api/v1/blobs', key[who], undefined, await png(shade))).body.id as string;
      const r = await call(c, 'POST', '/api/v1/images', key[who], { ops, images: [{ blob, name: `${who}-${shade}.png` }] });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return r.body as Summary;
    };
    for (let i = 0; i < 5; i++) made.acme.push(await submit('acme', i * 10, [{ op: 'resize', width: 4 + i, height: 4 }]));
    const bad = await submit('acme', 200, [{ op: 'crop', left: 0, top: 0, width: 64, height: 64 }]);
    failedId = bad.id;
    made.acme.push(bad);
    made.user.push(await submit('user', 120, [{ op: 'grayscale' }]));
    made.globex.push(await submit('globex', 140, [{ op: 'blur', sigma: 1 }]));
    for (const b of [...made.acme, ...made.user, ...made.globex]) {
      await waitFor(async () => (await call(c, 'GET', `/api/v1/batches/${b.id}`, ADMIN)).body.status !== 'running', `batch ${b.id} finished`, 30_000, 50);
    }
  }, 90_000);
  afterAll(async () => c?.close());

  it("pages of 2 over a tenant's 7 batches: newest first, each once, the summary without the images", async () => {
    const { pages, items } = await allPages(c, key.acme, '', 2);
    const expected = [...made.acme, ...made.user].sort(newestFirst).map((b) => b.id);
    expect(items.map((b) => b.id)).toEqual(expected);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
    const ok = items.find((b) => b.id === made.acme[2]!.id)!;
    expect(ok).toMatchObject({ status: 'succeeded', counts: { total: 1, succeeded: 1, failed: 0, running: 0, queued: 0 }, ops: [{ op: 'resize', width: 6, height: 4 }] });
    expect(ok.images).toBeUndefined();
    expect(items.find((b) => b.id === failedId)).toMatchObject({ status: 'failed', counts: { total: 1, failed: 1 } });
  });

  it('filters by status', async () => {
    expect((await allPages(c, key.acme, '&status=failed', 50)).items.map((b) => b.id)).toEqual([failedId]);
    const ok = (await allPages(c, key.acme, '&status=succeeded', 3)).items.map((b) => b.id);
    expect(ok).toEqual([...made.acme, ...made.user].filter((b) => b.id !== failedId).sort(newestFirst).map((b) => b.id));
    expect((await allPages(c, key.acme, '&status=running', 50)).items).toEqual([]);
  });

  it("scoped like a batch by id: another tenant's key, a user key (its own), the cluster operator (all)", async () => {
    expect((await allPages(c, key.globex, '', 50)).items.map((b) => b.id)).toEqual(made.globex.map((b) => b.id));
    expect((await allPages(c, key.user, '', 50)).items.map((b) => b.id)).toEqual(made.user.map((b) => b.id));
    const all = (await allPages(c, ADMIN, '', 3)).items.map((b) => b.id);
    expect(all).toEqual([...made.acme, ...made.user, ...made.globex].sort(newestFirst).map((b) => b.id));
    // A cursor carries no scope: globex following acme's cursor still sees only its own.
    const first = await call(c, 'GET', '/api/v1/batches?limit=1', key.acme);
    const other = await call(c, 'GET', `/api/v1/batches?cursor=${first.body.next_cursor}`, key.globex);
    expect(other.body.batches.every((b: Summary) => made.globex.some((g) => g.id === b.id))).toBe(true);
  });

  it('a bad limit, cursor or status is a 400 naming the field', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['status=done', 'status'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      [`cursor=${'x'.repeat(300)}`, 'cursor'],
    ] as const) {
      const r = await call(c, 'GET', `/api/v1/batches?${query}`, key.acme);
      expect([r.status, r.body.error?.field], query).toEqual([400, field]);
    }
  });
}

describe('memory store', () => scenario(async () => ({})));

describe('SQLite store (batches.db)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-batch-list-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  scenario(async () => ({ dataDir: dir }));
});

const pgOk = postgresAvailable();
describe.skipIf(!pgOk)(`PostgreSQL store${pgOk ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  let server: Postgres;
  const dir = mkdtempSync(join(tmpdir(), 'taskwire-batch-list-pg-'));
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  scenario(async () => {
    server = await Postgres.start();
    return { dataDir: dir, store: await server.createDatabase() };
  });
});
