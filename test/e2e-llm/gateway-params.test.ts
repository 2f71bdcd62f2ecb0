/**
 * JSON mode and sampling parameters end to end: the official `openai` client
 * sends `response_format` (json_schema, json_object), `seed`, penalties,
 * `logit_bias` and `user` to a real master's /v1; an in-process llm worker
 * forwards them to the local OpenAI-compatible provider, which records the
 * body it received.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { lastUser, startLlmCluster, type LlmCluster } from './llm-cluster.js';

describe('OpenAI gateway: JSON mode and sampling parameters reach the provider', () => {
  let env: LlmCluster;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmCluster({ inProcessWorkers: 1, processWorkers: 0, provider: { answer: () => ['{"name":', '"Ada"}'] } });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  const bodyFor = (prompt: string) =>
    env.provider.chatRequests().find((r) => lastUser((r.body as { messages: { role: string; content: string }[] }).messages) === prompt)?.body as
      | Record<string, unknown>
      | undefined;

  it('forwards every parameter as OpenAI defines it, streamed and not', async () => {
    const params = {
      response_format: {
        type: 'json_schema' as const,
        json_schema: { name: 'person', schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, strict: true },
      },
      seed: 11,
      presence_penalty: 0.5,
      frequency_penalty: -0.25,
      logit_bias: { '50256': -100 },
      user: 'end-user-7',
    };
    const res = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'json please' }], ...params });
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ name: 'Ada' });
    expect(bodyFor('json please')).toMatchObject(params);

    const stream = await client.chat.completions.create({
      model: 'taskwire',
      messages: [{ role: 'user', content: 'json object please' }],
      response_format: { type: 'json_object' },
      seed: 5,
      stream: true,
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(JSON.parse(text)).toEqual({ name: 'Ada' });
    expect(bodyFor('json object please')).toMatchObject({ response_format: { type: 'json_object' }, seed: 5 });
  });

  it('a malformed response_format is a 400 naming it, and nothing reaches the provider', async () => {
    const before = env.provider.chatRequests().length;
    const err = await client.chat.completions
      .create({ model: 'fake-model', messages: [{ role: 'user', content: 'bad' }], response_format: { type: 'xml' } as never })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('response_format.type');
    expect(env.provider.chatRequests().length).toBe(before);
  });
});

describe('OpenAI gateway of a real master without any llm worker', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1 }); // an echo/sleep worker only
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  }, 60_000);

  it('answers 404 model_not_found in user words (never the internal "kind"), streamed or not; unknown /v1 paths are OpenAI-shaped', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${c.httpUrl}/v1`, maxRetries: 0 });
    for (const stream of [false, true]) {
      const err = (await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: 'Hi' }], stream }).catch((e: unknown) => e)) as InstanceType<
        typeof OpenAI.APIError
      >;
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err.code).toBe('model_not_found');
      expect(err.param).toBe('model');
      expect(err.message).toContain('no worker serving language models is online');
      expect(err.message).not.toContain('kind');
    }
    const res = await fetch(`${c.httpUrl}/v1/no-such-endpoint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param: null, code: 'unknown_url' } });
  });
});
