/**
 * Tenant scope beyond tasks, on a real master (port 0, SQLite data dir):
 * blobs (content-addressed, yet readable by a tenant only once it uploaded
 * them or its task produced them), the worker list and the cluster summary
 * (REST and Socket.IO: only workers serving the tenant, pinned to it or
 * shared), and worker drain; an operator of tenant `default` sees all.
 * Tried × {own tenant, other tenant, cluster operator}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import sharp from 'sharp';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';
import type { ClusterView } from '../../common/task-view.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { followSocket, followSse } from '../helpers/event-stream.js';

const ADMIN = 'tw-tenancy-scope-admin-key-2b9d';

let c: TestCluster;
let dataDir: string;
/** The image batch user u1 made (its events are u1's only). */
let u1Batch: string | undefined;
const key: Record<'acme' | 'globex', string> = { acme: '', globex: '' };
const workerOf: Record<'acme' | 'globex' | 'shared', string> = { acme: '', globex: '', shared: '' };

async function call(method: string, path: string, secret: string | undefined, body?: unknown, raw?: { data: Buffer; type: string }) {
  const res = await fetch(`${c.httpUrl}${path}`, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(raw && { 'content-type': raw.type }),
      ...(secret && { authorization: `Bearer ${secret}` }),
    },
    body: raw ? new Uint8Array(raw.data) : body === undefined ? undefined : JSON.stringify(body),
  });
  const buf = Buffer.from(await res.arrayBuffer());
  let parsed: any;
  try {
    parsed = JSON.parse(buf.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, bytes: buf };
}

const png = (color: string) => sharp({ create: { width: 8, height: 8, channels: 3, background: color } }).png().toBuffer();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'taskwire-tenancy-scope-'));
  c = await startCluster({ workers: 0, master: { apiKeys: [ADMIN], dataDir } });
  for (const t of ['acme', 'globex'] as const) {
    expect((await call('POST', '/api/v1/admin/tenants', ADMIN, { id: t })).status).toBe(201);
    key[t] = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: t, scopes: ['submit', 'read', 'operate'] })).body.secret;
  }
  // acme's own image worker, globex's own worker (no image), and a shared one (no image).
  workerOf.acme = (await c.addWorker({ kinds: ['image'], tenants: ['acme'] }, { handlers: [new ImageHandler()] })).options.workerId;
  workerOf.globex = (await c.addWorker({ tenants: ['globex'] })).options.workerId;
  workerOf.shared = (await c.addWorker({})).options.workerId;
  await c.waitForWorkers(3, 30_000);
}, 60_000);

afterAll(async () => {
  await c?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('blobs', () => {
  let acmeBlob = '';

  beforeAll(async () => {
    const up = await call('POST', '/api/v1/blobs', key.acme, undefined, { data: await png('#123456'), type: 'image/png' });
    expect(up.status).toBe(201);
    acmeBlob = up.body.id;
  });

  it('the uploader\'s tenant and a cluster operator read a blob; another tenant gets 404 as for no blob', async () => {
    expect((await call('GET', `/api/v1/blobs/${acmeBlob}`, key.acme)).status).toBe(200);
    expect((await call('GET', `/api/v1/blobs/${acmeBlob}`, ADMIN)).status).toBe(200);
    const other = await call('GET', `/api/v1/blobs/${acmeBlob}`, key.globex);
    const none = await call('GET', `/api/v1/blobs/${'0'.repeat(64)}`, key.globex);
    expect([other.status, other.body.error.code]).toEqual([404, 'NOT_FOUND']);
    expect(other.body.error.message).toBe(`no blob ${acmeBlob}`);
    expect(none.status).toBe(404);
    expect((await call('GET', `/api/v1/blobs/${acmeBlob}`, undefined)).status).toBe(401);
  });

  it('another tenant can name the digest neither in a batch nor in an image task; after uploading the same bytes it can', async () => {
    const ops = [{ op: 'resize', width: 4, height: 4 }];
    const batch = await call('POST', '/api/v1/images', key.globex, { ops, images: [acmeBlob] });
    expect([batch.status, batch.body.error.field]).toEqual([400, 'images.0']);
    const direct = await call('POST', '/api/v1/tasks', key.globex, { kind: 'image', input: { blob: acmeBlob, ops } });
    expect([direct.status, direct.body.error.field]).toEqual([400, 'input.blob']);
    const many = await call('POST', '/api/v1/tasks/batch', key.globex, { tasks: [{ kind: 'echo', input: { text: 'x' } }, { kind: 'image', input: { blob: acmeBlob, ops } }] });
    expect([many.status, many.body.error.field]).toEqual([400, 'tasks.1.input.blob']);
    // Uploading the same bytes makes the digest globex's too.
    const up = await call('POST', '/api/v1/blobs', key.globex, undefined, { data: await png('#123456'), type: 'image/png' });
    expect(up.body.id).toBe(acmeBlob);
    expect((await call('GET', `/api/v1/blobs/${acmeBlob}`, key.globex)).status).toBe(200);
  });

  it('a batch\'s outputs are readable by its tenant only, also when served from another tenant\'s earlier output', async () => {
    const ops = [{ op: 'resize', width: 2, height: 2 }];
    const data = await png('#abcdef');
    const first = await call('POST', '/api/v1/blobs', key.acme, undefined, { data, type: 'image/png' });
    const made = await call('POST', '/api/v1/images', key.acme, { ops, images: [first.body.id] });
    expect(made.status).toBe(202);
    const done = await waitFor(async () => {
      const b = await call('GET', `/api/v1/batches/${made.body.id}`, key.acme);
      return b.body.finished_at_ms && b.body;
    }, 'acme batch finished', 30_000, 100);
    const output: string = done.images[0].output_blob;
    expect(output).toMatch(/^[0-9a-f]{64}$/);
    expect((await call('GET', `/api/v1/blobs/${output}`, key.acme)).status).toBe(200);
    expect((await call('GET', `/api/v1/blobs/${output}`, key.globex)).status).toBe(404);
    // globex uploads the same image and asks for the same chain: the recorded output is reused, and now globex's too.
    await call('POST', '/api/v1/blobs', key.globex, undefined, { data, type: 'image/png' });
    const again = await call('POST', '/api/v1/images', key.globex, { ops, images: [first.body.id] });
    expect(again.status).toBe(202);
    expect(again.body.images[0]).toMatchObject({ cached: true, output_blob: output });
    expect((await call('GET', `/api/v1/blobs/${output}`, key.globex)).status).toBe(200);
  }, 60_000);
});

describe('workers and the cluster summary', () => {
  const ids = (r: { body: { workers: { id: string }[] } }) => r.body.workers.map((w) => w.id).sort();

  it('GET /api/v1/workers lists the workers serving the caller\'s tenant; a cluster operator all', async () => {
    expect(ids(await call('GET', '/api/v1/workers', key.acme))).toEqual([workerOf.acme, workerOf.shared].sort());
    expect(ids(await call('GET', '/api/v1/workers', key.globex))).toEqual([workerOf.globex, workerOf.shared].sort());
    expect(ids(await call('GET', '/api/v1/workers', ADMIN))).toEqual([workerOf.acme, workerOf.globex, workerOf.shared].sort());
    expect((await call('GET', '/api/v1/workers', undefined)).status).toBe(401);
  });

  it('another tenant\'s worker answers 404 by id and cannot be drained; a shared one only a cluster operator drains', async () => {
    expect((await call('GET', `/api/v1/workers/${workerOf.globex}`, key.acme)).status).toBe(404);
    expect((await call('GET', `/api/v1/workers/${workerOf.globex}`, key.globex)).status).toBe(200);
    expect((await call('POST', `/api/v1/workers/${workerOf.globex}/drain`, key.acme, {})).status).toBe(404);
    const shared = await call('POST', `/api/v1/workers/${workerOf.shared}/drain`, key.acme, {});
    expect([shared.status, shared.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const own = await call('POST', `/api/v1/workers/${workerOf.globex}/drain`, key.globex, {});
    expect([200, 202]).toContain(own.status);
    await waitFor(() => c.master.registry.get(workerOf.globex)?.state === 'draining', 'globex worker draining');
    expect([200, 202]).toContain((await call('POST', `/api/v1/workers/${workerOf.globex}/resume`, key.globex, {})).status);
    await waitFor(() => c.master.registry.get(workerOf.globex)?.state === 'online', 'globex worker online again');
  });

  it('GET /api/v1/cluster counts the tenant\'s workers, kinds and tasks only', async () => {
    const acme = (await call('GET', '/api/v1/cluster', key.acme)).body as ClusterView;
    const globex = (await call('GET', '/api/v1/cluster', key.globex)).body as ClusterView;
    const all = (await call('GET', '/api/v1/cluster', ADMIN)).body as ClusterView;
    expect(acme.workers.online + acme.workers.draining).toBe(2);
    expect(globex.workers.online + globex.workers.draining).toBe(2);
    expect(all.workers.online + all.workers.draining).toBe(3);
    expect(acme.kinds).toContain('image');
    expect(globex.kinds).not.toContain('image');
    expect(all.kinds).toContain('image');
    // A queued task of globex (a kind nobody serves yet... sleep on its drained worker) is not in acme's count.
    const held = await call('POST', `/api/v1/workers/${workerOf.shared}/drain`, ADMIN, {});
    expect([200, 202]).toContain(held.status);
    await call('POST', `/api/v1/workers/${workerOf.globex}/drain`, key.globex, {});
    await waitFor(() => c.master.registry.get(workerOf.globex)?.state === 'draining' && c.master.registry.get(workerOf.shared)?.state === 'draining', 'drained');
    const queued = (await call('POST', '/api/v1/tasks', key.globex, { kind: 'sleep', input: { ms: 1 } })).body.id as string;
    await waitFor(async () => ((await call('GET', '/api/v1/cluster', key.globex)).body as ClusterView).queued === 1, 'globex sees its queued task');
    expect(((await call('GET', '/api/v1/cluster', key.acme)).body as ClusterView).queued).toBe(0);
    expect(((await call('GET', '/api/v1/cluster', ADMIN)).body as ClusterView).queued).toBeGreaterThanOrEqual(1);
    await call('POST', `/api/v1/workers/${workerOf.globex}/resume`, key.globex, {});
    await call('POST', `/api/v1/workers/${workerOf.shared}/resume`, ADMIN, {});
    await waitFor(async () => (await call('GET', `/api/v1/tasks/${queued}`, key.globex)).body.status === 'succeeded', 'queued task ran');
  }, 30_000);

  it('Socket.IO: a tenant\'s chat is offered the kinds and shown the summary of its tenant\'s workers', async () => {
    const join = (apiKey: string) =>
      new Promise<{ kinds: string[]; cluster: ClusterView; close: () => void }>((resolve, reject) => {
        const s = io(c.httpUrl, { auth: { apiKey }, transports: ['websocket'], reconnection: false, timeout: 5000 });
        let kinds: string[] | undefined;
        let seen = 0;
        s.on('session', (info: { kinds: string[] }) => (kinds = info.kinds));
        // The first summary comes with the session, the second from the periodic tick (per tenant).
        s.on('cluster', (v: ClusterView) => {
          if (++seen === 2) resolve({ kinds: kinds!, cluster: v, close: () => s.close() });
        });
        s.once('connect_error', reject);
      });
    const [acme, globex, all] = await Promise.all([join(key.acme), join(key.globex), join(ADMIN)]);
    try {
      expect(acme.kinds).toContain('image');
      expect(globex.kinds).not.toContain('image');
      expect(globex.cluster.kinds).not.toContain('image');
      expect(acme.cluster.workers.online).toBe(2);
      expect(globex.cluster.workers.online).toBe(2);
      expect(all.cluster.workers.online).toBe(3);
    } finally {
      acme.close();
      globex.close();
      all.close();
    }
  });
});

describe('user keys within a tenant see and cancel only their own tasks', () => {
  const user: Record<'u1' | 'u2', string> = { u1: '', u2: '' };
  const userKeyId: Record<'u1' | 'u2', string> = { u1: '', u2: '' };
  let t1 = '';
  let t2 = '';

  beforeAll(async () => {
    for (const u of ['u1', 'u2'] as const) {
      const made = await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['submit', 'read'], name: u });
      expect(made.status).toBe(201);
      user[u] = made.body.secret;
      userKeyId[u] = made.body.key.id;
    }
    t1 = (await call('POST', '/api/v1/tasks', user.u1, { kind: 'echo', input: { text: 'u1 private text' } })).body.id;
    t2 = (await call('POST', '/api/v1/tasks/batch', user.u2, { tasks: [{ kind: 'echo', input: { text: 'u2 private text' } }] })).body.tasks[0].id;
    for (const [id, s] of [[t1, user.u1], [t2, user.u2]] as const) {
      await waitFor(async () => (await call('GET', `/api/v1/tasks/${id}`, s)).body?.status === 'succeeded', `task ${id} succeeded`);
    }
  });

  it('by id: its own task 200, another user\'s 404 exactly as for no task; the tenant\'s operator sees both', async () => {
    expect((await call('GET', `/api/v1/tasks/${t1}`, user.u1)).body.id).toBe(t1);
    const other = await call('GET', `/api/v1/tasks/${t1}`, user.u2);
    expect([other.status, other.body.error.code, other.body.error.message]).toEqual([404, 'NOT_FOUND', `task ${t1} not found`]);
    expect(other.bytes.toString()).not.toContain('u1 private text');
    expect((await call('GET', `/api/v1/tasks/${t1}`, key.acme)).status).toBe(200);
    expect((await call('GET', `/api/v1/tasks/${t2}`, key.acme)).status).toBe(200);
    expect((await call('GET', `/api/v1/tasks/${t1}`, key.globex)).status).toBe(404);
  });

  it('cancel: another user\'s task 404 (and it is not cancelled); its own 202', async () => {
    const long = (await call('POST', '/api/v1/tasks', user.u1, { kind: 'sleep', input: { ms: 30_000 } })).body.id as string;
    expect((await call('POST', `/api/v1/tasks/${long}/cancel`, user.u2, {})).status).toBe(404);
    expect((await call('GET', `/api/v1/tasks/${long}`, user.u1)).body.cancel_requested ?? false).toBe(false);
    expect((await call('POST', `/api/v1/tasks/${long}/cancel`, user.u1, {})).status).toBe(202);
    await waitFor(async () => (await call('GET', `/api/v1/tasks/${long}`, user.u1)).body.status === 'cancelled', 'cancelled');
  });

  it('list, search and export give a user key its own tasks only; the dashboard, bulk and retry are 403 for it; the tenant operator sees both users\' tasks', async () => {
    for (const path of ['/api/v1/tasks?limit=1000', '/api/v1/tasks?q=private', '/api/v1/tasks/export?format=jsonl', '/api/v1/tasks/export?format=csv&q=private']) {
      const u1 = (await call('GET', path, user.u1)).bytes.toString();
      const u2 = await call('GET', path, user.u2);
      expect([path, u2.status]).toEqual([path, 200]);
      expect(u2.bytes.toString()).toContain(t2);
      expect(u2.bytes.toString()).not.toContain(t1);
      expect(u2.bytes.toString()).not.toContain('u1 private text');
      expect(u1).toContain(t1);
      expect(u1).not.toContain(t2);
    }
    const surfaces = ['/api/v1/dashboard/tasks', `/api/v1/dashboard/tasks/${t1}`];
    for (const path of surfaces) {
      const r = await call('GET', path, user.u2);
      expect([path, r.status]).toEqual([path, 403]);
      expect(r.bytes.toString()).not.toContain(t1);
    }
    for (const path of ['/api/v1/tasks?limit=1000', '/api/v1/tasks/export?format=jsonl', '/api/v1/events?follow=false&since=0']) {
      const text = (await call('GET', path, key.acme)).bytes.toString();
      expect(text).toContain(t1);
      expect(text).toContain(t2);
    }
    for (const path of [`/api/v1/tasks/${t1}/retry`, '/api/v1/tasks/bulk/cancel']) {
      expect((await call('POST', path, user.u2, path.includes('bulk') ? { filter: { status: 'queued' }, dry_run: true } : {})).status).toBe(403);
    }
  });

  it('two keys of one user share their tasks (by id, cancel, list, search, idempotency); another user of the tenant sees neither', async () => {
    expect((await call('POST', '/api/v1/admin/users', ADMIN, { tenant: 'acme', id: 'alice' })).status).toBe(201);
    const [a1, a2] = await Promise.all([1, 2].map(async (i) => (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', user: 'alice', scopes: ['submit', 'read'], name: `alice ${i}` })).body.secret as string));
    const mine = (await call('POST', '/api/v1/tasks', a1, { kind: 'echo', input: { text: 'alice text' }, idempotency_key: 'alice-idem' })).body.id as string;
    expect((await call('GET', `/api/v1/tasks/${mine}`, a2!)).status).toBe(200);
    expect((await call('POST', '/api/v1/tasks', a2!, { kind: 'echo', input: { text: 'alice text' }, idempotency_key: 'alice-idem' })).body.id).toBe(mine);
    for (const path of ['/api/v1/tasks?limit=1000', '/api/v1/tasks?q=alice', '/api/v1/tasks/export?format=jsonl']) {
      const text = (await call('GET', path, a2!)).bytes.toString();
      expect(text).toContain(mine);
      expect(text).not.toContain(t1);
      expect((await call('GET', path, user.u2)).bytes.toString()).not.toContain(mine);
    }
    expect((await call('GET', `/api/v1/tasks/${mine}`, user.u2)).status).toBe(404);
    expect((await call('POST', '/api/v1/tasks', user.u2, { kind: 'echo', input: { text: 'x' }, idempotency_key: 'alice-idem' })).status).toBe(409);
    const long = (await call('POST', '/api/v1/tasks', a1, { kind: 'sleep', input: { ms: 30_000 } })).body.id as string;
    expect((await call('POST', `/api/v1/tasks/${long}/cancel`, user.u2, {})).status).toBe(404);
    expect((await call('POST', `/api/v1/tasks/${long}/cancel`, a2!, {})).status).toBe(202);
  });

  it('an image batch of a user key: another user of the tenant gets 404 (as for no batch), the tenant operator sees it', async () => {
    const up = await call('POST', '/api/v1/blobs', user.u1, undefined, { data: await png('#0f0f0f'), type: 'image/png' });
    const made = await call('POST', '/api/v1/images', user.u1, { ops: [{ op: 'resize', width: 3, height: 3 }], images: [up.body.id] });
    expect(made.status).toBe(202);
    u1Batch = made.body.id as string;
    expect((await call('GET', `/api/v1/batches/${made.body.id}`, user.u1)).status).toBe(200);
    const other = await call('GET', `/api/v1/batches/${made.body.id}`, user.u2);
    expect([other.status, other.body.error.code]).toEqual([404, 'NOT_FOUND']);
    expect((await call('GET', `/api/v1/batches/${made.body.id}/zip`, user.u2)).status).toBe(404);
    expect((await call('GET', `/api/v1/batches/${made.body.id}`, key.acme)).status).toBe(200);
  });

  it('an idempotency key of another user\'s task is a 409, never that task; the tenant operator gets the task', async () => {
    const first = await call('POST', '/api/v1/tasks', user.u1, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'scope-idem-1' });
    expect(first.status).toBe(202);
    const other = await call('POST', '/api/v1/tasks', user.u2, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'scope-idem-1' });
    expect(other.status).toBe(409);
    expect(other.bytes.toString()).not.toContain(first.body.id);
    const batch = await call('POST', '/api/v1/tasks/batch', user.u2, { tasks: [{ kind: 'echo', input: { text: 'idem' }, idempotency_key: 'scope-idem-1' }] });
    expect(batch.status).toBe(409);
    expect((await call('POST', '/api/v1/tasks', user.u1, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'scope-idem-1' })).body.id).toBe(first.body.id);
    expect((await call('POST', '/api/v1/tasks', key.acme, { kind: 'echo', input: { text: 'idem' }, idempotency_key: 'scope-idem-1' })).body.id).toBe(first.body.id);
  });

  it('Socket.IO: another user\'s session id gets a fresh session (no replay) and cannot cancel its tasks', async () => {
    const connect = (apiKey: string, sessionId?: string) =>
      new Promise<{ socket: ReturnType<typeof io>; sessionId: string; done: string[] }>((resolve, reject) => {
        const socket = io(c.httpUrl, { auth: { apiKey, ...(sessionId && { sessionId }) }, transports: ['websocket'], reconnection: false, timeout: 5000 });
        const done: string[] = [];
        socket.on('task:done', (t: { id: string }) => done.push(t.id));
        socket.once('session', (info: { session_id: string }) => resolve({ socket, sessionId: info.session_id, done }));
        socket.once('connect_error', reject);
      });
    const a = await connect(user.u1);
    const ack = await new Promise<any>((r) => a.socket.emit('task:submit', { kind: 'echo', input: { text: 'chat of u1' } }, r));
    expect(ack.ok).toBe(true);
    const chatTask: string = ack.data.id;
    await waitFor(() => a.done.includes(chatTask), 'chat task done');
    a.socket.close();
    // u1 comes back: its session and the answer are replayed.
    const back = await connect(user.u1, a.sessionId);
    expect(back.sessionId).toBe(a.sessionId);
    await waitFor(() => back.done.includes(chatTask), 'replayed to u1');
    // u2 presenting u1's session id gets a session of its own, and nothing of u1's.
    const b = await connect(user.u2, a.sessionId);
    expect(b.sessionId).not.toBe(a.sessionId);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.done).toEqual([]);
    const cancel = await new Promise<any>((r) => b.socket.emit('task:cancel', { id: chatTask }, r));
    expect(cancel.ok).toBe(false);
    expect((await call('GET', `/api/v1/tasks/${chatTask}`, user.u2)).status).toBe(404);
    expect((await call('GET', `/api/v1/tasks/${chatTask}`, user.u1)).status).toBe(200);
    back.socket.close();
    b.socket.close();
  });

  it('the event stream (SSE page, SSE follow, resume, Socket.IO /events) gives a user key its own tasks\' events only; the tenant operator both users\'; another tenant neither; no key 401, a key without read 403', async () => {
    const submitOnly = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['submit'], name: 'submit only' })).body.secret as string;
    const who = { u1: user.u1, u2: user.u2, acme: key.acme, globex: key.globex };
    type Who = keyof typeof who;
    const headers = (secret: string) => ({ authorization: `Bearer ${secret}` });
    // Followers from the start of the stream (replay, then live) on both surfaces, for every key.
    const sse = Object.fromEntries(Object.entries(who).map(([k, s]) => [k, followSse(`${c.httpUrl}/api/v1/events?since=0`, headers(s))])) as Record<Who, ReturnType<typeof followSse>>;
    const sio = Object.fromEntries(Object.entries(who).map(([k, s]) => [k, followSocket(c.httpUrl, { auth: { apiKey: s, since: 0 } })])) as Record<Who, ReturnType<typeof followSocket>>;
    try {
      await Promise.all(Object.values(sio).map((f) => f.connected));
      // Live tasks of both users while they follow.
      const t3 = (await call('POST', '/api/v1/tasks', user.u1, { kind: 'echo', input: { text: 'u1 live' } })).body.id as string;
      const t4 = (await call('POST', '/api/v1/tasks', user.u2, { kind: 'echo', input: { text: 'u2 live' } })).body.id as string;
      const finished = (ids: string[], types: (string | undefined)[], tasks: (string | undefined)[]) => ids.every((id) => tasks.some((t, i) => t === id && types[i] === 'task.succeeded'));
      const sseDone = (k: Who, ids: string[]) => finished(ids, sse[k].events.map((e) => e.type), sse[k].events.map((e) => e.data.task_id));
      const sioDone = (k: Who, ids: string[]) => finished(ids, sio[k].events.map((e) => e.type), sio[k].events.map((e) => e.task_id));
      await waitFor(() => sseDone('acme', [t1, t2, t3, t4]) && sioDone('acme', [t1, t2, t3, t4]), 'the tenant operator sees both users\' tasks finish');
      await waitFor(() => sseDone('u1', [t1, t3]) && sioDone('u1', [t1, t3]) && sseDone('u2', [t2, t4]) && sioDone('u2', [t2, t4]), 'each user sees its own tasks finish');
      await new Promise((r) => setTimeout(r, 300)); // anything more that would come
      const page = async (k: Who, query = 'follow=false&since=0&limit=10000') => {
        const r = await call('GET', `/api/v1/events?${query}`, who[k]);
        expect(r.status).toBe(200);
        return (r.body.events as { id: number; type: string; task_id?: string; owner?: string; tenant: string }[]);
      };
      for (const u of ['u1', 'u2'] as const) {
        const [own, others] = u === 'u1' ? [[t1, t3], [t2, t4]] : [[t2, t4], [t1, t3]];
        const seen = { page: await page(u), sse: sse[u].events.map((e) => ({ id: e.id, ...e.data })), sio: sio[u].events };
        for (const [surface, events] of Object.entries(seen)) {
          const list = events as { id: number; type: string; task_id?: string; owner?: string | null; tenant?: unknown }[];
          expect([u, surface, list.every((e) => (e.type.startsWith('task.') || e.type.startsWith('batch.')) && e.owner === userKeyId[u] && e.tenant === 'acme')]).toEqual([u, surface, true]);
          // u1's image batch: its progress events reach u1, never u2.
          const batchEvents = list.filter((e) => (e as { batch_id?: string }).batch_id === u1Batch).length;
          expect([u, surface, batchEvents > 0]).toEqual([u, surface, u === 'u1']);
          for (const id of own) expect([u, surface, id, list.some((e) => e.task_id === id)]).toEqual([u, surface, id, true]);
          for (const id of others) expect([u, surface, id, list.some((e) => e.task_id === id)]).toEqual([u, surface, id, false]);
          expect(new Set(list.map((e) => e.id)).size).toBe(list.length); // once each
        }
        // Resume: after its first event of its own task, only its newer events, the same as a page from there.
        const from = seen.page.find((e) => e.task_id === own[0])!.id;
        const resumed = followSse(`${c.httpUrl}/api/v1/events`, { ...headers(who[u]), 'last-event-id': String(from) });
        const sinceQuery = followSocket(c.httpUrl, { auth: { apiKey: who[u], since: from } });
        try {
          const want = seen.page.filter((e) => e.id > from).map((e) => e.id);
          expect(want.length).toBeGreaterThan(0);
          await waitFor(() => resumed.events.length >= want.length && sinceQuery.events.length >= want.length, `${u} resumed`);
          expect(resumed.events.map((e) => e.id)).toEqual(want);
          expect(sinceQuery.events.map((e) => e.id)).toEqual(want);
        } finally {
          await resumed.close();
          sinceQuery.socket.close();
        }
      }
      // The tenant's operator: both users' tasks and nothing of another tenant; globex: none of them.
      for (const k of ['acme', 'globex'] as const) {
        const seen = { page: await page(k), sse: sse[k].events.map((e) => ({ id: e.id, ...e.data })), sio: sio[k].events };
        for (const [surface, events] of Object.entries(seen)) {
          const list = events as { task_id?: string; tenant?: unknown }[];
          expect([k, surface, list.every((e) => e.tenant === k)]).toEqual([k, surface, true]);
          for (const id of [t1, t2, t3, t4]) expect([k, surface, id, list.some((e) => e.task_id === id)]).toEqual([k, surface, id, k === 'acme']);
        }
      }
      // No key: 401 (REST and SSE alike) and refused at the handshake; a key without read: 403.
      expect((await call('GET', '/api/v1/events?follow=false&since=0', undefined)).status).toBe(401);
      const noKey = followSse(`${c.httpUrl}/api/v1/events?since=0`);
      await expect(noKey.done).rejects.toThrow(/status 401/);
      const forbidden = await call('GET', '/api/v1/events?follow=false&since=0', submitOnly);
      expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN']);
      expect(forbidden.bytes.toString()).not.toContain(t1);
      for (const apiKey of [undefined, submitOnly]) {
        const s = followSocket(c.httpUrl, { auth: apiKey ? { apiKey } : {} });
        const refused = await s.connected.then(() => 'connected', (err: Error) => err.message);
        s.socket.close();
        expect(refused).toMatch(apiKey ? /^FORBIDDEN/ : /^UNAUTHENTICATED/);
      }
    } finally {
      for (const f of Object.values(sse)) await f.close();
      for (const f of Object.values(sio)) f.socket.close();
    }
  });
});
