/**
 * The embedding adapters against local servers speaking each wire format:
 * Gemini `batchEmbedContents` (key in x-goog-api-key, one request per text,
 * outputDimensionality) and OpenAI-compatible `/embeddings` (answers sorted
 * by `index`, a count mismatch is a PROVIDER_ERROR, HTTP errors mapped).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GeminiEmbeddings, OpenAiEmbeddings } from '../../worker/handlers/llm/embedding-providers.js';
import { startFakeServer, writeJson, type FakeHttpServer, type FakeRoute } from './fake-http-server.js';
import { failure } from './llm-test-helpers.js';

let server: FakeHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
const start = async (route: FakeRoute) => (server = await startFakeServer(route));
const signal = () => new AbortController().signal;

describe('GeminiEmbeddings', () => {
  it('sends batchEmbedContents as documented and returns the vectors', async () => {
    const s = await start((_req, res) => writeJson(res, 200, { embeddings: [{ values: [0.1, 0.2] }, { values: [0.3, 0.4] }] }));
    const p = new GeminiEmbeddings({ baseUrl: s.url, apiKey: 'gk', models: ['gemini-embedding-001'] });
    const r = await p.embed({ model: 'gemini-embedding-001', input: ['a', 'b'], dimensions: 2 }, signal());
    expect(r.embeddings).toEqual([
      [0.1, 0.2],
      [0.3, 0.4],
    ]);
    const rec = s.requests[0]!;
    expect(rec.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(rec.headers['x-goog-api-key']).toBe('gk');
    expect(rec.body).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] }, outputDimensionality: 2 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] }, outputDimensionality: 2 },
      ],
    });
  });

  it('maps a bad key to PROVIDER_AUTH', async () => {
    const s = await start((_req, res) =>
      writeJson(res, 400, { error: { code: 400, message: 'API key not valid', status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] } }),
    );
    const p = new GeminiEmbeddings({ baseUrl: s.url, apiKey: 'bad', models: ['m'] });
    expect((await failure(p.embed({ model: 'm', input: ['a'] }, signal()))).code).toBe('PROVIDER_AUTH');
  });
});

describe('OpenAiEmbeddings', () => {
  it('sorts by index, sends the bearer key, reports usage', async () => {
    const s = await start((_req, res) =>
      writeJson(res, 200, { data: [{ index: 1, embedding: [2] }, { index: 0, embedding: [1] }], model: 'e-v2', usage: { prompt_tokens: 3, total_tokens: 3 } }),
    );
    const p = new OpenAiEmbeddings('openai', { baseUrl: `${s.url}/v1`, apiKey: 'sk', models: ['e'] });
    const r = await p.embed({ model: 'e', input: ['x', 'y'] }, signal());
    expect(r).toEqual({ embeddings: [[1], [2]], usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 }, model: 'e-v2' });
    expect(s.requests[0]!.headers['authorization']).toBe('Bearer sk');
    expect(s.requests[0]!.path).toBe('/v1/embeddings');
  });

  it('a count mismatch is PROVIDER_ERROR; 429 is a retryable PROVIDER_RATE_LIMIT', async () => {
    let n = 0;
    const s = await start((_req, res) =>
      n++ === 0 ? writeJson(res, 200, { data: [{ index: 0, embedding: [1] }] }) : writeJson(res, 429, { error: { message: 'slow down', type: 'rate_limit' } }),
    );
    const p = new OpenAiEmbeddings('openai', { baseUrl: s.url, models: ['e'] });
    expect((await failure(p.embed({ model: 'e', input: ['x', 'y'] }, signal()))).code).toBe('PROVIDER_ERROR');
    const limited = await failure(p.embed({ model: 'e', input: ['x'] }, signal()));
    expect(limited.code).toBe('PROVIDER_RATE_LIMIT');
    expect(limited.retryable).toBe(true);
  });
});
