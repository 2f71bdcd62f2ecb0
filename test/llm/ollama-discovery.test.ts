/** Ollama discovery against a local server speaking Ollama's /api/tags format. */
import { afterEach, describe, expect, it } from 'vitest';
import { ollamaModelNames, probeOllama } from '../../worker/handlers/llm/ollama-discovery.js';
import { closedPortUrl, startFakeServer, writeJson, type FakeHttpServer } from './fake-http-server.js';

let server: FakeHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('probeOllama', () => {
  it('lists the models of an Ollama that answers, with and without ":latest"', async () => {
    server = await startFakeServer((req, res) =>
      req.path === '/api/tags'
        ? writeJson(res, 200, {
            models: [
              { name: 'llama3.2:latest', model: 'llama3.2:latest', size: 2019393189, details: { family: 'llama' } },
              { name: 'qwen2.5:0.5b', model: 'qwen2.5:0.5b' },
            ],
          })
        : writeJson(res, 404, {}),
    );
    expect(await probeOllama(`${server.url}/`, { timeoutMs: 2000 })).toEqual({
      baseUrl: `${server.url}/v1`,
      models: ['llama3.2:latest', 'llama3.2', 'qwen2.5:0.5b'],
    });
  });

  it('returns undefined when nothing listens', async () => {
    expect(await probeOllama(await closedPortUrl(), { timeoutMs: 2000 })).toBeUndefined();
  });

  it('returns undefined when the server does not answer within the timeout', async () => {
    server = await startFakeServer(() => {
      // never answers
    });
    expect(await probeOllama(server.url, { timeoutMs: 50 })).toBeUndefined();
  });

  it('returns undefined for something that is not Ollama', async () => {
    server = await startFakeServer((_req, res) => writeJson(res, 200, { models: 'nope' }));
    expect(await probeOllama(server.url, { timeoutMs: 2000 })).toBeUndefined();
  });

  it('ollamaModelNames de-duplicates', () => {
    expect(ollamaModelNames(['a:latest', 'a', 'b:1b'])).toEqual(['a:latest', 'a', 'b:1b']);
  });
});
