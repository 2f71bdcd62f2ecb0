/**
 * `POST /v1/embeddings` end to end: the official `openai` client against a
 * real master; an in-process worker's `embed` handler (built from env as the
 * CLI builds it: OPENAI_BASE_URL, models containing "embed" discovered) calls
 * the local OpenAI-compatible provider's /v1/embeddings. The SDK's default
 * `encoding_format: base64` (float32 LE) and `float` both give the provider's
 * vectors in input order; usage is reported; no embedding model is a 404
 * model_not_found in user words; token arrays are a 400 naming `input`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { startLlmCluster, type LlmCluster } from './llm-cluster.js';

describe('OpenAI gateway: embeddings', () => {
  let env: LlmCluster;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmCluster({ inProcessWorkers: 1, processWorkers: 0, embed: true, provider: { models: ['fake-model', 'fake-embed'] } });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  it('the SDK default (base64) and float both give the vectors in input order, with usage', async () => {
    const viaBase64 = await client.embeddings.create({ model: 'fake-embed', input: ['one', 'three words here'] });
    expect(viaBase64.object).toBe('list');
    expect(viaBase64.model).toBe('fake-embed');
    expect(viaBase64.data.map((d) => d.index)).toEqual([0, 1]);
    expect(viaBase64.data.map((d) => d.embedding)).toEqual([
      [3, 0, 0.5],
      [16, 1, 0.5],
    ]);
    expect(viaBase64.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(env.provider.embeddingRequests().at(-1)!.body).toEqual({ model: 'fake-embed', input: ['one', 'three words here'], encoding_format: 'float' });

    const asFloat = await client.embeddings.create({ model: 'taskwire', input: 'hello', encoding_format: 'float', dimensions: 4, user: 'u1' });
    expect(asFloat.data).toEqual([{ object: 'embedding', index: 0, embedding: [5, 0, 0.5, 0.5] }]);
    expect(asFloat.model).toBe('fake-embed');
    expect(env.provider.embeddingRequests().at(-1)!.body).toMatchObject({ dimensions: 4, user: 'u1' });
  });

  it('lists the embedding model; an unknown model is 404, token arrays and empty texts are 400 naming input', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['fake-model', 'fake-embed']));
    const missing = (await client.embeddings.create({ model: 'nope', input: 'x' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.code).toBe('model_not_found');
    for (const input of [[1, 2, 3], ['']] as never[]) {
      const bad = (await client.embeddings.create({ model: 'fake-embed', input }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect(bad.param).toMatch(/^input/);
    }
  });
});

describe('OpenAI gateway: embeddings without an embedding worker', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1 });
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  }, 60_000);

  it('answers 404 model_not_found in user words', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${c.httpUrl}/v1`, maxRetries: 0 });
    const err = (await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    expect(err.message).toContain('no worker serving embedding models is online');
  });
});
