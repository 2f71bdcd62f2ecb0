/**
 * Every submit surface is limited by the one admission gate: REST (single and
 * batch), Socket.IO, the OpenAI gateway (real llm worker on a local
 * OpenAI-compatible provider) and KServe v2 answer a submit past a key's
 * limit with 429 in their own shape and the rate-limit fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { startLlmCluster, type LlmCluster } from '../e2e-llm/llm-cluster.js';
import type { TaskHandler } from '../../worker/handlers/task-handler.js';

const KEYS = { admin: 'adm-0123456789abcdef', rest: 'rest-0123456789abcdef', batch: 'batch-0123456789abcdef', sock: 'sock-0123456789abcdef', openai: 'oai-0123456789abcdef', kserve: 'ksv-0123456789abcdef' };

const inferHandler: TaskHandler = {
  kind: 'infer',
  models: () => [{ kind: 'infer', name: 'm', versions: ['1'], ready: true, provider: 'test', execution_provider: 'cpu' }],
  run: async () => ({ output: { model_name: 'm', outputs: [{ name: 'y', shape: [1], datatype: 'FP32', data: [1] }] } }),
};

function expectRateLimitFields(h: Headers, limit: number): void {
  expect(h.get('retry-after')).toMatch(/^\d+$/);
  expect(h.get('x-ratelimit-limit')).toBe(String(limit));
  expect(h.get('x-ratelimit-remaining')).toBe('0');
  expect(Number(h.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 - 1);
  expect(h.get('ratelimit-policy')).toBe(`"key-rpm";q=${limit};w=600`);
  expect(h.get('ratelimit')).toMatch(/^"key-rpm";r=0;t=\d+$/);
}

describe('limits on every submit surface', () => {
  let env: LlmCluster;
  const call = (key: string, path: string, body?: unknown, method = 'POST') =>
    fetch(`${env.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    env = await startLlmCluster({
      processWorkers: 0,
      master: {
        apiKeys: [`admin:${KEYS.admin}`, ...[KEYS.rest, KEYS.batch, KEYS.sock, KEYS.openai, KEYS.kserve].map((k) => `user:${k}`)],
        rateLimits: JSON.stringify({ rules: [{ scope: 'key', requests_per_minute: 2, window_s: 600 }, { scope: 'key', id: 'local', requests_per_minute: 1 }] }),
      },
    });
    await env.cluster.addWorker({ kinds: ['infer'] }, { handlers: [inferHandler] });
    await env.cluster.waitForWorkers(2);
  }, 60_000);
  afterAll(async () => env?.close());

  it('REST: the third submit of a key gets 429 with the fields; another key is not affected', async () => {
    for (let i = 0; i < 2; i++) expect((await call(KEYS.rest, '/api/v1/tasks', { kind: 'echo', input: { text: `r${i}` } })).status).toBe(202);
    const refused = await call(KEYS.rest, '/api/v1/tasks', { kind: 'echo', input: { text: 'r2' } });
    expect(refused.status).toBe(429);
    expectRateLimitFields(refused.headers, 2);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.message).toMatch(/rate limit reached: 2 requests per 600 s for key key-/);
    // bad input is still a 400, and costs nothing
    expect((await call(KEYS.batch, '/api/v1/tasks', { kind: 'echo', input: { nope: 1 } })).status).toBe(400);
  });

  it('REST batch: counts every task; a batch past the limit is refused whole', async () => {
    const tasks = (n: number) => ({ tasks: Array.from({ length: n }, (_, i) => ({ kind: 'echo', input: { text: `b${i}` } })) });
    expect((await call(KEYS.batch, '/api/v1/tasks/batch', tasks(3))).status).toBe(429);
    expect((await call(KEYS.batch, '/api/v1/tasks/batch', tasks(2))).status).toBe(202);
    const refused = await call(KEYS.batch, '/api/v1/tasks/batch', tasks(1));
    expect(refused.status).toBe(429);
    expectRateLimitFields(refused.headers, 2);
  });

  it('Socket.IO: the chat gets an error ack with a clear message', async () => {
    const socket = io(env.httpUrl, { auth: { apiKey: KEYS.sock }, transports: ['websocket'], reconnection: false });
    try {
      const submit = (text: string) => socket.timeout(5000).emitWithAck('task:submit', { kind: 'echo', input: { text } }) as Promise<{ ok: boolean; error?: { code: string; message: string } }>;
      expect((await submit('s0')).ok).toBe(true);
      expect((await submit('s1')).ok).toBe(true);
      const refused = await submit('s2');
      expect(refused.ok).toBe(false);
      expect(refused.error?.code).toBe('RESOURCE_EXHAUSTED');
      expect(refused.error?.message).toMatch(/rate limit reached: 2 requests per 600 s .*retry in \d+ s/);
    } finally {
      socket.close();
    }
  });

  it('OpenAI gateway: 429 rate_limit_exceeded in OpenAI shape with the fields', async () => {
    const model = ((await (await call(KEYS.openai, '/v1/models', undefined, 'GET')).json()) as { data: { id: string }[] }).data[0]!.id;
    const chat = () => call(KEYS.openai, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 16 });
    for (let i = 0; i < 2; i++) expect((await chat()).status).toBe(200);
    const refused = await chat();
    expect(refused.status).toBe(429);
    expectRateLimitFields(refused.headers, 2);
    const body = (await refused.json()) as { error: { type: string; code: string; message: string } };
    expect(body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
  });

  it('KServe v2: 429 with {"error": "<message>"} and the fields', async () => {
    const infer = () => call(KEYS.kserve, '/v2/models/m/infer', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
    for (let i = 0; i < 2; i++) expect((await infer()).status).toBe(200);
    const refused = await infer();
    expect(refused.status).toBe(429);
    expectRateLimitFields(refused.headers, 2);
    expect(typeof ((await refused.json()) as { error: unknown }).error).toBe('string');
  });

  it('admin REST: GET/PUT /api/v1/admin/limits needs the admin role and names a bad field', async () => {
    expect((await call(KEYS.rest, '/api/v1/admin/limits', undefined, 'GET')).status).toBe(403);
    const got = (await (await call(KEYS.admin, '/api/v1/admin/limits', undefined, 'GET')).json()) as { rules: unknown[] };
    expect(got.rules).toHaveLength(2);
    const bad = await call(KEYS.admin, '/api/v1/admin/limits', { rules: [{ scope: 'key', requests_per_minute: -1 }] }, 'PUT');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toMatch(/rules\.0\.requests_per_minute/);
    // raising the limit lets the refused key in again
    const put = await call(KEYS.admin, '/api/v1/admin/limits', { rules: [{ scope: 'key', id: 'x', requests_per_minute: 1 }] }, 'PUT');
    expect(put.status).toBe(200);
    expect((await call(KEYS.rest, '/api/v1/tasks', { kind: 'echo', input: { text: 'again' } })).status).toBe(202);
  });
});
