/**
 * Fail fast while every provider of a model cools down: the local provider
 * answers 503, the worker's provider cools down after one failure
 * (TASKWIRE_LLM_FAILURE_THRESHOLD=1) and advertises its models not ready
 * with `cooldown_until_ms`; a request for that model (or for any model) then
 * gets 503 `model_unavailable` with Retry-After at once, streamed or not,
 * instead of waiting queued, and reaches no provider.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cluster.js';
import { startLlmCluster, type LlmCluster } from './llm-cluster.js';

describe('OpenAI gateway: every provider cooling down', () => {
  let env: LlmCluster;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmCluster({
      inProcessWorkers: 1,
      processWorkers: 0,
      workerEnv: { TASKWIRE_LLM_FAILURE_THRESHOLD: '1', TASKWIRE_LLM_COOLDOWN_MS: '60000' },
      provider: { fail: () => ({ status: 503, error: { message: 'overloaded', type: 'server_error' } }) },
    });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  it('answers 503 model_unavailable with Retry-After instead of queueing, and calls no provider', async () => {
    // The first request fails at the provider; its task is retried and waits (the provider now cools down).
    const first = new AbortController();
    const pending = client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'one' }] }, { signal: first.signal }).catch(() => undefined);
    await waitFor(
      () => env.cluster.master.registry.schedulable().some((w) => w.status.models.some((m) => m.kind === 'llm' && !m.ready && m.cooldown_until_ms > Date.now())),
      'the worker to advertise its model cooling down',
      20_000,
    );
    const calls = env.provider.chatRequests().length;

    for (const [model, stream] of [['fake-model', false], ['fake-model', true], ['taskwire', false]] as const) {
      const res = await fetch(`${env.httpUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'two' }] }),
      });
      expect(res.status, `${model} stream=${stream}`).toBe(503);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const body = (await res.json()) as { error: { code: string; message: string; param: string } };
      expect(body.error).toMatchObject({ code: 'model_unavailable', param: 'model' });
      expect(body.error.message).toContain(`Try again in ${retryAfter} s`);
    }
    const err = (await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'three' }] }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(503);
    expect(env.provider.chatRequests().length).toBe(calls);
    first.abort();
    await pending;
  });
});
