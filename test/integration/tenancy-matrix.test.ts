/**
 * Tenancy end to end on a real master (port 0, SQLite data dir): an admin
 * creates tenants and keys over REST; every task read surface, the event
 * stream and the Socket.IO handshake are tried × {own tenant, other tenant,
 * no key}; revoking a key refuses it at once and drops its open Socket.IO
 * connection and event stream; keys, tenants and task tenants survive a
 * restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import sharp from 'sharp';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';
import { createLogger } from '../../common/logger.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'tw-tenancy-matrix-admin-key-7f3a';

type Who = 'own' | 'other' | 'none';

let c: TestCluster;
let dataDir: string;
const key: Record<'acme' | 'globex', string> = { acme: '', globex: '' };
const keyId: Record<'acme' | 'globex', string> = { acme: '', globex: '' };
let acmeTask = '';
let globexTask = '';

async function call(method: string, path: string, secret: string | undefined, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${c.httpUrl}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(secret && { authorization: `Bearer ${secret}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    // SSE / JSONL
  }
  return { status: res.status, body: parsed, text };
}

const secretOf = (who: Who): string | undefined => (who === 'own' ? key.acme : who === 'other' ? key.globex : undefined);

async function startMaster(): Promise<void> {
  c = await startCluster({ workers: 1, master: { apiKeys: [ADMIN], dataDir } });
}

async function finished(id: string, secret: string): Promise<void> {
  await waitFor(async () => (await call('GET', `/api/v1/tasks/${id}`, secret)).body?.status === 'succeeded', `task ${id} succeeded`);
}

function connect(auth: Record<string, unknown>): Promise<{ ok: true; socket: Socket; sessionId: string } | { ok: false; message: string }> {
  const socket = io(c.httpUrl, { auth, transports: ['websocket'], reconnection: false, timeout: 5000 });
  return new Promise((resolve) => {
    socket.once('session', (info: { session_id: string }) => resolve({ ok: true, socket, sessionId: info.session_id }));
    socket.once('connect_error', (err) => {
      socket.close();
      resolve({ ok: false, message: err.message });
    });
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'taskwire-tenancy-matrix-'));
  await startMaster();
  for (const t of ['acme', 'globex'] as const) {
    expect((await call('POST', '/api/v1/admin/tenants', ADMIN, { id: t, name: t.toUpperCase() })).status).toBe(201);
    const made = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: t, scopes: ['submit', 'read', 'operate'], name: `${t} operator` });
    expect(made.status).toBe(201);
    key[t] = made.body.secret;
    keyId[t] = made.body.key.id;
  }
  acmeTask = (await call('POST', '/api/v1/tasks', key.acme, { kind: 'echo', input: { text: 'acme secret text' } })).body.id;
  globexTask = (await call('POST', '/api/v1/tasks/batch', key.globex, { tasks: [{ kind: 'echo', input: { text: 'globex' } }] })).body.tasks[0].id;
  await finished(acmeTask, key.acme);
  await finished(globexTask, key.globex);
}, 30_000);

afterAll(async () => {
  await c?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('admin routes', () => {
  it('need the admin scope: 401 without a key, 403 for a tenant operator, and a 400 names the field', async () => {
    expect((await call('GET', '/api/v1/admin/keys', undefined)).status).toBe(401);
    expect((await call('GET', '/api/v1/admin/keys', key.acme)).status).toBe(403);
    expect((await call('POST', '/api/v1/admin/tenants', key.acme, { id: 'x' })).status).toBe(403);
    const bad = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['fly'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toMatch(/^scopes/);
    const badTenant = await call('POST', '/api/v1/admin/tenants', ADMIN, { id: 'Not Valid' });
    expect([badTenant.status, badTenant.body.error.field]).toEqual([400, 'id']);
    const unknownTenant = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'nope' });
    expect([unknownTenant.status, unknownTenant.body.error.field]).toEqual([400, 'tenant']);
  });

  it('list shows every key without its secret; tenants list their key counts', async () => {
    const list = await call('GET', '/api/v1/admin/keys', ADMIN);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(key.acme);
    expect(list.body.keys.map((k: { id: string }) => k.id)).toEqual(expect.arrayContaining([keyId.acme, keyId.globex]));
    const acmeOnly = await call('GET', '/api/v1/admin/keys?tenant=acme', ADMIN);
    expect(acmeOnly.body.keys.map((k: { tenant: string }) => k.tenant)).toEqual(['acme']);
    const tenants = await call('GET', '/api/v1/admin/tenants', ADMIN);
    expect(tenants.body.tenants.find((t: { id: string }) => t.id === 'acme')).toMatchObject({ name: 'ACME', keys: 1 });
  });

  it('a key with an allow-list of kinds may submit only those (403 naming the kind)', async () => {
    const made = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['submit', 'read'], kinds: ['sleep'] });
    const refused = await call('POST', '/api/v1/tasks', made.body.secret, { kind: 'echo', input: { text: 'x' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/kind/);
    expect((await call('POST', '/api/v1/tasks', made.body.secret, { kind: 'sleep', input: { ms: 1 } })).status).toBe(202);
  });

  it("a tenant's own limits and budgets × {its admin, its operator, another tenant's admin, no key}: 200, 403, 404, 401", async () => {
    const acmeAdmin = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['read', 'admin'] })).body.secret as string;
    const globexAdmin = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'globex', scopes: ['read', 'admin'] })).body.secret as string;
    for (const path of ['/api/v1/admin/tenants/acme/limits', '/api/v1/admin/tenants/acme/budgets']) {
      expect((await call('GET', path, acmeAdmin)).status, path).toBe(200);
      expect((await call('GET', path, key.acme)).status, path).toBe(403);
      const other = await call('GET', path, globexAdmin);
      expect([other.status, other.body.error.code], path).toEqual([404, 'NOT_FOUND']);
      expect(other.text).not.toContain('caps');
      expect((await call('GET', path, undefined)).status, path).toBe(401);
    }
  });
});

interface Row {
  name: string;
  run: (secret: string | undefined) => Promise<{ status: number; body: any; text: string }>;
  /** The own tenant's answer shows the task; the other tenant's does not. */
  shows: (r: { status: number; body: any; text: string }) => boolean;
}

const byId = (method: string, path: string): Row['run'] => (s) => call(method, path.replace(':id', acmeTask), s, method === 'POST' ? {} : undefined);
const ROWS: Row[] = [
  { name: 'GET /api/v1/tasks/:id', run: byId('GET', '/api/v1/tasks/:id'), shows: (r) => r.status === 200 && r.body.id === acmeTask },
  { name: 'POST /api/v1/tasks/:id/cancel', run: byId('POST', '/api/v1/tasks/:id/cancel'), shows: (r) => r.status === 202 },
  { name: 'POST /api/v1/tasks/:id/retry', run: byId('POST', '/api/v1/tasks/:id/retry'), shows: (r) => r.status === 409 }, // succeeded: not retryable, but seen
  { name: 'GET /api/v1/dashboard/tasks/:id', run: byId('GET', '/api/v1/dashboard/tasks/:id'), shows: (r) => r.status === 200 && r.body.task.id === acmeTask },
  { name: 'GET /api/v1/tasks', run: (s) => call('GET', '/api/v1/tasks?limit=1000', s), shows: (r) => r.status === 200 && r.text.includes(acmeTask) },
  { name: 'GET /api/v1/tasks?q=', run: (s) => call('GET', '/api/v1/tasks?q=secret', s), shows: (r) => r.status === 200 && r.text.includes(acmeTask) },
  { name: 'GET /api/v1/tasks/export', run: (s) => call('GET', '/api/v1/tasks/export?format=jsonl', s), shows: (r) => r.status === 200 && r.text.includes(acmeTask) },
  { name: 'GET /api/v1/dashboard/tasks', run: (s) => call('GET', '/api/v1/dashboard/tasks', s), shows: (r) => r.status === 200 && r.text.includes(acmeTask) },
  {
    name: 'POST /api/v1/tasks/bulk/retry (dry run)',
    run: (s) => call('POST', '/api/v1/tasks/bulk/retry', s, { filter: { status: 'cancelled' }, dry_run: true }),
    shows: (r) => r.status === 200 && r.text.includes(acmeTask),
  },
  { name: 'GET /api/v1/batches/:id', run: (s) => call('GET', `/api/v1/batches/${batchId}`, s), shows: (r) => r.status === 200 && r.body.id === batchId },
  { name: 'GET /api/v1/batches/:id/zip', run: (s) => call('GET', `/api/v1/batches/${batchId}/zip`, s), shows: (r) => r.status === 200 },
  { name: 'GET /api/v1/events (page)', run: (s) => call('GET', '/api/v1/events?follow=false&since=0', s), shows: (r) => r.status === 200 && r.text.includes(acmeTask) },
];

let batchId = '';

describe('every task read surface × {own tenant, other tenant, no key}', () => {
  beforeAll(async () => {
    // An image batch of acme's, run by an in-process worker serving `image`.
    await c.addWorker({ kinds: ['image'] }, { handlers: [new ImageHandler()] });
    await waitFor(() => c.master.registry.kinds().includes('image'), 'image worker online');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#08f' } }).png().toBuffer();
    const form = new FormData();
    form.set('ops', JSON.stringify([{ op: 'resize', width: 4, height: 4 }]));
    form.append('files', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'a.png');
    const made = await fetch(`${c.httpUrl}/api/v1/images`, { method: 'POST', body: form, headers: { authorization: `Bearer ${key.acme}` } });
    const text = await made.text();
    expect(made.status, text).toBe(202);
    batchId = (JSON.parse(text) as { id: string }).id;
    // A cancelled acme task for the bulk row (acmeTask itself succeeded).
    const t = (await call('POST', '/api/v1/tasks', key.acme, { kind: 'sleep', input: { ms: 30_000 } })).body.id;
    await call('POST', `/api/v1/tasks/${t}/cancel`, key.acme, {});
    await waitFor(async () => (await call('GET', `/api/v1/tasks/${t}`, key.acme)).body?.status === 'cancelled', 'cancelled');
    ROWS.find((r) => r.name.startsWith('POST /api/v1/tasks/bulk'))!.shows = (r) => r.status === 200 && r.text.includes(t);
  });

  for (const row of ROWS) {
    it.each(['other', 'none', 'own'] as Who[])(`${row.name}: %s`, async (who) => {
      const r = await row.run(secretOf(who));
      if (who === 'none') expect(r.status).toBe(401);
      else if (who === 'own') expect(row.shows(r), `${r.status} ${r.text.slice(0, 300)}`).toBe(true);
      else {
        expect(row.shows(r)).toBe(false);
        expect([200, 404]).toContain(r.status);
        // Another tenant's task answers like one that does not exist; a listing leaves it out.
        if (r.status === 404) expect(r.body.error.code).toBe('NOT_FOUND');
        else expect(r.text).not.toContain(acmeTask);
        if (r.status === 404 && row.name.includes('tasks/:id')) expect(r.body.error.message).toBe(`task ${acmeTask} not found`); // as for no task
        expect(r.text).not.toContain('acme secret text');
      }
    });
  }

  it('an idempotency key names a task of its own tenant only: another tenant gets 409, never the task', async () => {
    const first = await call('POST', '/api/v1/tasks', key.acme, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'shared-key-1' });
    expect(first.status).toBe(202);
    expect((await call('POST', '/api/v1/tasks', key.acme, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'shared-key-1' })).body.id).toBe(first.body.id);
    const other = await call('POST', '/api/v1/tasks', key.globex, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'shared-key-1' });
    expect(other.status).toBe(409);
    expect(other.text).not.toContain(first.body.id);
  });

  it('logs: a tenant\'s key reads its own tasks\' lines (page, q=, follow), never another tenant\'s nor a cluster line; no key 401; a cluster operator all', async () => {
    const wl = createLogger({ source: 'matrix-logw', destination: false });
    await c.addWorker({ workerId: 'matrix-logw' }, { logger: wl });
    await waitFor(() => c.master.registry.get('matrix-logw') !== undefined, 'logging worker online');
    wl.logger.info({ task_id: acmeTask }, 'acme okapi line');
    wl.logger.info({ task_id: globexTask }, 'globex okapi line');
    wl.logger.info('cluster okapi line');
    await waitFor(async () => (await call('GET', '/api/v1/logs?q=okapi', ADMIN)).body?.logs?.length === 3, 'three okapi lines');
    const all = await call('GET', '/api/v1/logs?q=okapi', ADMIN);
    expect(all.body.logs.map((l: { tenant: string | null }) => l.tenant)).toEqual([null, 'globex', 'acme']);
    for (const [who, secret, mine, theirs] of [['acme', key.acme, 'acme okapi line', 'globex'], ['globex', key.globex, 'globex okapi line', 'acme']] as const) {
      const page = await call('GET', '/api/v1/logs?limit=1000', secret);
      expect(page.status, who).toBe(200);
      expect(page.body.logs.map((l: { msg: string }) => l.msg)).toContain(mine);
      expect(page.body.logs.every((l: { tenant: string }) => l.tenant === who)).toBe(true);
      expect(page.text).not.toContain(`${theirs} okapi`);
      expect(page.text).not.toContain('cluster okapi');
      expect((await call('GET', '/api/v1/logs?q=okapi', secret)).body.logs.map((l: { msg: string }) => l.msg)).toEqual([mine]);
      expect((await call('GET', `/api/v1/logs?task=${who === 'acme' ? globexTask : acmeTask}`, secret)).body.logs).toEqual([]);
    }
    expect((await call('GET', '/api/v1/logs', undefined)).status).toBe(401);
    // The follow: a replay from 0 then a live line, only acme's.
    const controller = new AbortController();
    const res = await fetch(`${c.httpUrl}/api/v1/logs?follow=true&after=0&q=okapi`, { headers: { authorization: `Bearer ${key.acme}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (s: string) => {
      while (!text.includes(s)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await readUntil('acme okapi line');
    wl.logger.info({ task_id: globexTask }, 'globex okapi live');
    wl.logger.info('cluster okapi live');
    wl.logger.info({ task_id: acmeTask }, 'acme okapi live');
    await readUntil('acme okapi live');
    expect(text).not.toContain('globex okapi');
    expect(text).not.toContain('cluster okapi');
    controller.abort();
  });

  it('a cluster operator (tenant default) sees both tenants', async () => {
    const list = await call('GET', '/api/v1/tasks?limit=1000', ADMIN);
    expect(list.text).toContain(acmeTask);
    expect(list.text).toContain(globexTask);
  });

  it('task events carry their tenant', async () => {
    const page = await call('GET', '/api/v1/events?follow=false&since=0', ADMIN);
    const mine = page.body.events.filter((e: { task_id?: string }) => e.task_id === acmeTask);
    expect(mine.length).toBeGreaterThan(0);
    expect(new Set(mine.map((e: { tenant: string }) => e.tenant))).toEqual(new Set(['acme']));
    expect(page.body.events.find((e: { task_id?: string }) => e.task_id === globexTask).tenant).toBe('globex');
  });

  it('Socket.IO: no key is refused; a tenant\'s key connects and submits in its tenant; another tenant cannot resume its session', async () => {
    expect(await connect({})).toMatchObject({ ok: false });
    const a = await connect({ apiKey: key.acme });
    if (!a.ok) throw new Error(a.message);
    const ack = await new Promise<any>((r) => a.socket.emit('task:submit', { kind: 'echo', input: { text: 'from the chat' } }, r));
    expect(ack.ok).toBe(true);
    expect((await call('GET', `/api/v1/tasks/${ack.data.id}`, key.acme)).status).toBe(200);
    expect((await call('GET', `/api/v1/tasks/${ack.data.id}`, key.globex)).status).toBe(404);
    const g = await connect({ apiKey: key.globex, sessionId: a.sessionId });
    if (!g.ok) throw new Error(g.message);
    expect(g.sessionId).not.toBe(a.sessionId);
    a.socket.close();
    g.socket.close();
  });
});

describe('revoke and rotate', () => {
  it('revoking a key refuses it at once on REST, drops its open Socket.IO connection, its event stream and its log follow', async () => {
    const made = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'globex', scopes: ['submit', 'read', 'operate'] });
    const secret: string = made.body.secret;
    const s = await connect({ apiKey: secret });
    if (!s.ok) throw new Error(s.message);
    const dropped = new Promise<string>((r) => s.socket.once('disconnect', r));
    const controller = new AbortController();
    const stream = await fetch(`${c.httpUrl}/api/v1/events`, { headers: { authorization: `Bearer ${secret}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const logs = await fetch(`${c.httpUrl}/api/v1/logs?follow=true`, { headers: { authorization: `Bearer ${secret}` }, signal: controller.signal });
    expect(logs.status).toBe(200);
    const untilEnd = (res: Response) =>
      (async () => {
        const reader = res.body!.getReader();
        while (!(await reader.read()).done);
        return 'ended';
      })();
    const ended = untilEnd(stream);
    const logsEnded = untilEnd(logs);
    expect((await call('POST', `/api/v1/admin/keys/${made.body.key.id}/revoke`, ADMIN, {})).body.key.status).toBe('revoked');
    expect((await call('GET', '/api/v1/tasks', secret)).status).toBe(401);
    expect(await dropped).toBe('io server disconnect');
    expect(await ended).toBe('ended');
    expect(await logsEnded, 'the log follow ends too').toBe('ended');
    expect(await connect({ apiKey: secret })).toMatchObject({ ok: false });
    controller.abort();
  });

  it('rotating gives a new secret for the same key id; the old one is refused', async () => {
    // An operator key of acme: it reads acme's tasks (a user key sees only its own: tenancy-scope.test.ts).
    const made = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['submit', 'read', 'operate'] });
    const rotated = await call('POST', `/api/v1/admin/keys/${made.body.key.id}/rotate`, ADMIN, {});
    expect(rotated.body.key.id).toBe(made.body.key.id);
    expect((await call('GET', `/api/v1/tasks/${acmeTask}`, made.body.secret)).status).toBe(401);
    expect((await call('GET', `/api/v1/tasks/${acmeTask}`, rotated.body.secret)).status).toBe(200);
    expect((await call('POST', '/api/v1/admin/keys/key-0123456789abcdef/rotate', ADMIN, {})).status).toBe(404);
    expect((await call('POST', `/api/v1/admin/keys/${made.body.key.id}/revoke`, key.acme, {})).status).toBe(403);
  });
});

describe('restart with the data dir', () => {
  it('tenants, keys and task tenants survive', async () => {
    await c.close();
    await startMaster();
    expect((await call('GET', '/api/v1/admin/tenants', ADMIN)).body.tenants.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining(['acme', 'globex']));
    expect((await call('GET', `/api/v1/tasks/${acmeTask}`, key.acme)).body.id).toBe(acmeTask);
    expect((await call('GET', `/api/v1/tasks/${acmeTask}`, key.globex)).status).toBe(404);
    const list = await call('GET', '/api/v1/tasks?limit=1000', key.globex);
    expect(list.text).toContain(globexTask);
    expect(list.text).not.toContain(acmeTask);
  }, 30_000);
});
