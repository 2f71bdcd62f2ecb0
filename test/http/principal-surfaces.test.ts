/**
 * The principal on every surface: with API keys configured, each route and the
 * Socket.IO handshake is refused without a key (in its surface's error shape)
 * and served with one; the open-route list answers without a key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const KEY = 'tw-principal-test-key-91c3';
const USER_KEY = 'tw-principal-user-key-4d2e';

interface Row {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Shape of the 401 body. */
  shape: 'taskwire' | 'openai' | 'kserve';
}

const ROWS: Row[] = [
  { name: 'REST submit', method: 'POST', path: '/api/v1/tasks', body: { kind: 'echo', input: { text: 'hi' } }, shape: 'taskwire' },
  { name: 'REST batch', method: 'POST', path: '/api/v1/tasks/batch', body: { tasks: [{ kind: 'echo', input: { text: 'hi' } }] }, shape: 'taskwire' },
  { name: 'REST list', method: 'GET', path: '/api/v1/tasks', shape: 'taskwire' },
  { name: 'REST get', method: 'GET', path: '/api/v1/tasks/nope', shape: 'taskwire' },
  { name: 'REST cancel', method: 'POST', path: '/api/v1/tasks/nope/cancel', shape: 'taskwire' },
  { name: 'REST workers', method: 'GET', path: '/api/v1/workers', shape: 'taskwire' },
  { name: 'REST cluster', method: 'GET', path: '/api/v1/cluster', shape: 'taskwire' },
  { name: 'metrics', method: 'GET', path: '/metrics', shape: 'taskwire' },
  { name: 'OpenAI models', method: 'GET', path: '/v1/models', shape: 'openai' },
  { name: 'OpenAI model', method: 'GET', path: '/v1/models/m1', shape: 'openai' },
  { name: 'OpenAI chat', method: 'POST', path: '/v1/chat/completions', body: { model: 'taskwire', messages: [{ role: 'user', content: 'hi' }] }, shape: 'openai' },
  { name: 'KServe server', method: 'GET', path: '/v2', shape: 'kserve' },
  { name: 'KServe model', method: 'GET', path: '/v2/models/m', shape: 'kserve' },
  { name: 'KServe model ready', method: 'GET', path: '/v2/models/m/ready', shape: 'kserve' },
  { name: 'KServe infer', method: 'POST', path: '/v2/models/m/infer', body: { inputs: [] }, shape: 'kserve' },
];

type ClientSocket = Socket;

function connect(url: string, auth: Record<string, unknown>, extraHeaders?: Record<string, string>): Promise<{ ok: true; socket: ClientSocket } | { ok: false; message: string }> {
  const socket = io(url, { auth, extraHeaders, transports: ['websocket'], reconnection: false, timeout: 5000 });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ ok: true, socket }));
    socket.once('connect_error', (err) => {
      socket.close();
      resolve({ ok: false, message: err.message });
    });
  });
}

describe('one principal on every surface (API keys configured)', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { apiKeys: [KEY, `user:${USER_KEY}`] } });
  });
  afterAll(async () => {
    await c?.close();
  });

  const call = (row: Row, key?: string) =>
    fetch(`${c.httpUrl}${row.path}`, {
      method: row.method,
      headers: { ...(row.body !== undefined && { 'content-type': 'application/json' }), ...(key && { authorization: `Bearer ${key}` }) },
      body: row.body === undefined ? undefined : JSON.stringify(row.body),
    });

  it.each(ROWS)('$name: 401 without a key, in its surface\'s shape', async (row) => {
    for (const key of [undefined, 'wrong-key']) {
      const res = await call(row, key);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      const body = (await res.json()) as { error: unknown };
      if (row.shape === 'kserve') expect(typeof body.error).toBe('string');
      else if (row.shape === 'openai') expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
      else expect(body.error).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
  });

  it.each(ROWS)('$name: served with a key (not 401/403)', async (row) => {
    const res = await call(row, KEY);
    expect([401, 403]).not.toContain(res.status);
    expect(res.status).toBeLessThan(500);
    await res.arrayBuffer();
  });

  it('the open-route list answers without a key', async () => {
    for (const path of ['/healthz', '/v2/health/live', '/v2/health/ready']) {
      const res = await fetch(`${c.httpUrl}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
  });

  it('the Socket.IO handshake is refused without a key and accepted with one (auth or header)', async () => {
    const none = await connect(c.httpUrl, {});
    expect(none.ok).toBe(false);
    expect(!none.ok && none.message).toMatch(/^UNAUTHENTICATED/);
    const wrong = await connect(c.httpUrl, { apiKey: 'wrong-key' });
    expect(wrong.ok).toBe(false);
    const good = await connect(c.httpUrl, { apiKey: KEY });
    expect(good.ok).toBe(true);
    if (good.ok) {
      const ack = (await good.socket.timeout(10_000).emitWithAck('task:submit', { kind: 'echo', input: { text: 'via socket' }, client_ref: 'ref-1' })) as {
        ok: boolean;
        client_ref?: string;
      };
      expect(ack).toMatchObject({ ok: true, client_ref: 'ref-1' });
      good.socket.close();
    }
    const header = await connect(c.httpUrl, {}, { authorization: `Bearer ${KEY}` });
    expect(header.ok).toBe(true);
    if (header.ok) header.socket.close();
  });

  it('a user key may not list every task (only its own); an operator/admin key may', async () => {
    const submit = async (key: string) =>
      ((await (await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'listed' } }) })).json()) as { id: string }).id;
    const mine = await submit(USER_KEY);
    const theirs = await submit(KEY);
    const list = async (key: string) => {
      const res = await fetch(`${c.httpUrl}/api/v1/tasks?limit=1000`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, ids: ((await res.json()) as { tasks: { id: string }[] }).tasks.map((t) => t.id) };
    };
    const asUser = await list(USER_KEY);
    expect(asUser.status).toBe(200);
    expect(asUser.ids).toContain(mine);
    expect(asUser.ids).not.toContain(theirs);
    const asAdmin = await list(KEY);
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.ids).toEqual(expect.arrayContaining([mine, theirs]));
  });
});
