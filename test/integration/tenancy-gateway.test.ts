/**
 * Tenancy on the OpenAI-compatible gateway: a completion submitted with a
 * tenant's key is a task of that tenant (its events carry it; another
 * tenant cannot see it), and a key with an allow-list of models is refused
 * another model with an OpenAI-shaped 403. Real master, an llm worker on a
 * local OpenAI-compatible provider.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'tw-tenancy-gateway-admin-key-c41d';
let c: TestCluster;
let provider: FakeOpenAiProvider;
const key: Record<string, string> = {};

async function call(method: string, path: string, secret: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${c.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  provider = await startFakeOpenAiProvider({ models: ['fake-chat'] });
  c = await startCluster({ workers: 0, master: { apiKeys: [ADMIN] } });
  const llm = await createLlmHandler({ OPENAI_BASE_URL: provider.url, TASKWIRE_OLLAMA_URL: 'off' }, silentLogger());
  if (!llm) throw new Error('no model at the fake provider');
  await c.addWorker({ kinds: ['llm'] }, { handlers: [llm] });
  await c.waitForWorkers(1);
  for (const t of ['acme', 'globex']) {
    await call('POST', '/api/v1/admin/tenants', ADMIN, { id: t });
    key[t] = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: t, scopes: ['submit', 'read', 'operate'] })).body.secret;
  }
  key.limited = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', models: ['another-model'] })).body.secret;
}, 30_000);

afterAll(async () => {
  await c?.close();
  await provider?.close();
});

describe('tenancy on /v1', () => {
  it('a completion is a task of the key\'s tenant; another tenant does not see it', async () => {
    const r = await call('POST', '/v1/chat/completions', key.acme!, { model: 'fake-chat', messages: [{ role: 'user', content: 'hello from acme' }] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const page = await call('GET', '/api/v1/events?follow=false&since=0&type=task.queued', ADMIN);
    const queued = page.body.events.filter((e: { kind: string }) => e.kind === 'llm');
    expect(queued.map((e: { tenant: string }) => e.tenant)).toEqual(['acme']);
    const id = queued[0].task_id as string;
    expect((await call('GET', `/api/v1/tasks/${id}`, key.acme!)).status).toBe(200);
    expect((await call('GET', `/api/v1/tasks/${id}`, key.globex!)).status).toBe(404);
  });

  it('a key allowed other models only gets an OpenAI-shaped 403 (not a 500)', async () => {
    const r = await call('POST', '/v1/chat/completions', key.limited!, { model: 'fake-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ type: 'permission_error', code: 'model_not_allowed' });
    expect(r.body.error.message).toMatch(/model/);
  });
});
