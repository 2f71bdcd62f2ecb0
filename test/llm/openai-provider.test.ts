/**
 * Contract tests of the OpenAI-compatible adapter against a local server
 * speaking the chat-completions wire format, with the variants real servers
 * send (OpenAI/vLLM/Ollama usage chunk, llama.cpp usage on the last chunk,
 * vLLM's error mid-stream).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmRequest, LlmStreamEvent } from '../../worker/handlers/llm/llm-provider.js';
import { discoverOpenAiModels, OpenAiProvider } from '../../worker/handlers/llm/openai-provider.js';
import { TaskFailure } from '../../worker/handlers/task-handler.js';
import { closedPortUrl, startFakeServer, writeJson, writeSse, type FakeHttpServer, type FakeRoute } from './fake-http-server.js';
import { collect, failure } from './llm-test-helpers.js';

const KEY = 'sk-test-0123456789abcdef';
let server: FakeHttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function provider(route: FakeRoute, options: { apiKey?: string } = { apiKey: KEY }): Promise<OpenAiProvider> {
  server = await startFakeServer(route);
  return new OpenAiProvider({ name: 'openai', baseUrl: `${server.url}/v1/`, apiKey: options.apiKey, models: ['gpt-test'] });
}

const request: LlmRequest = {
  model: 'gpt-test',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2+2?' },
  ],
  temperature: 0,
  max_tokens: 16,
  stop: ['\n\n'],
};

function delta(content: string | null, finish: string | null = null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-test-2025',
    choices: [{ index: 0, delta: content === null ? {} : { content }, logprobs: null, finish_reason: finish }],
    ...extra,
  };
}

const usage = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };

describe('OpenAiProvider', () => {
  it('posts stream: true with stream_options.include_usage and a Bearer key', async () => {
    const p = await provider((_req, res) => writeSse(res, [delta('4', 'stop'), '[DONE]']));
    await collect(p.stream(request, new AbortController().signal));
    const rec = server!.requests[0]!;
    expect(rec.method).toBe('POST');
    expect(rec.path).toBe('/v1/chat/completions');
    expect(rec.headers['authorization']).toBe(`Bearer ${KEY}`);
    expect(rec.body).toEqual({
      model: 'gpt-test',
      messages: request.messages,
      temperature: 0,
      max_tokens: 16,
      stop: ['\n\n'],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('forwards response_format, seed, penalties, logit_bias and user as OpenAI defines them, streamed and not', async () => {
    const extra = {
      response_format: { type: 'json_schema' as const, json_schema: { name: 'answer', schema: { type: 'object', properties: { n: { type: 'integer' } } }, strict: true } },
      seed: 42,
      presence_penalty: 0.25,
      frequency_penalty: -1,
      logit_bias: { '50256': -100 },
      user: 'end-user-1',
    };
    const p = await provider((req, res) =>
      (req.body as { stream: boolean }).stream
        ? writeSse(res, [delta('{"n":4}', 'stop'), '[DONE]'])
        : writeJson(res, 200, { id: 'c', object: 'chat.completion', created: 1, model: 'gpt-test', choices: [{ index: 0, message: { role: 'assistant', content: '{"n":4}' }, finish_reason: 'stop' }] }),
    );
    await collect(p.stream({ ...request, ...extra }, new AbortController().signal));
    await p.complete({ ...request, response_format: { type: 'json_object' } }, new AbortController().signal);
    expect(server!.requests[0]!.body).toMatchObject(extra);
    expect((server!.requests[1]!.body as { response_format: unknown }).response_format).toEqual({ type: 'json_object' });
  });

  it('sends no Authorization header when no key is configured (local servers)', async () => {
    const p = await provider((_req, res) => writeSse(res, [delta('ok', 'stop'), '[DONE]']), {});
    await collect(p.stream(request, new AbortController().signal));
    expect(server!.requests[0]!.headers['authorization']).toBeUndefined();
  });

  it('OpenAI / vLLM / Ollama style: role chunk, deltas, finish chunk, usage chunk with empty choices, [DONE]', async () => {
    const p = await provider((_req, res) =>
      writeSse(res, [
        delta(null, null, { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
        delta('The answer'),
        delta(' is 4.'),
        delta(null, 'stop'),
        { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test-2025', choices: [], usage },
        '[DONE]',
      ]),
    );
    expect(await collect(p.stream(request, new AbortController().signal))).toEqual([
      { type: 'delta', text: 'The answer' },
      { type: 'delta', text: ' is 4.' },
      { type: 'finish', finishReason: 'stop', model: 'gpt-test-2025', usage },
    ]);
  });

  it('llama.cpp style: usage on the last chunk together with finish_reason', async () => {
    const p = await provider((_req, res) =>
      writeSse(res, [delta('Four'), delta('', 'length', { usage: { prompt_tokens: 5, completion_tokens: 1 } }), '[DONE]']),
    );
    expect(await collect(p.stream(request, new AbortController().signal))).toEqual([
      { type: 'delta', text: 'Four' },
      { type: 'finish', finishReason: 'length', model: 'gpt-test-2025', usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } },
    ]);
  });

  it('stops reading at [DONE] even if the server keeps the connection open', async () => {
    const p = await provider((_req, res) => writeSse(res, [delta('x', 'stop'), '[DONE]'], { end: false }));
    const events = await collect(p.stream(request, new AbortController().signal));
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });

  it('vLLM error object mid-stream -> PROVIDER_ERROR', async () => {
    const p = await provider((_req, res) =>
      writeSse(res, [
        delta('Hel'),
        { error: { object: 'error', message: 'The engine died unexpectedly', type: 'InternalServerError', param: null, code: 500 } },
      ]),
    );
    const seen: LlmStreamEvent[] = [];
    const f = await failure(
      (async () => {
        for await (const ev of p.stream(request, new AbortController().signal)) seen.push(ev);
      })(),
    );
    expect(seen).toEqual([{ type: 'delta', text: 'Hel' }]);
    expect(f.code).toBe('PROVIDER_ERROR');
    expect(f.message).toContain('engine died');
    expect(f.retryable).toBe(true);
  });

  it('a 4xx error object mid-stream is PROVIDER_ERROR without retry', async () => {
    const p = await provider((_req, res) =>
      writeSse(res, [{ error: { object: 'error', message: 'max_tokens too large', type: 'BadRequestError', code: 400 } }]),
    );
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_ERROR');
    expect(f.retryable).toBe(false);
  });

  it('finish_reason content_filter -> SAFETY_BLOCKED', async () => {
    const p = await provider((_req, res) => writeSse(res, [delta('', 'content_filter'), '[DONE]']));
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('SAFETY_BLOCKED');
  });

  it('a stream cut before finish_reason and [DONE] -> PROVIDER_UNAVAILABLE (retryable)', async () => {
    const p = await provider((_req, res) => writeSse(res, [delta('Half')]));
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
  });

  it('non-streamed chat completion', async () => {
    const p = await provider((_req, res) =>
      writeJson(res, 200, {
        id: 'chatcmpl-2',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-test-2025',
        choices: [{ index: 0, message: { role: 'assistant', content: '4' }, logprobs: null, finish_reason: 'stop' }],
        usage,
      }),
    );
    const out = await p.complete(request, new AbortController().signal);
    expect((server!.requests[0]!.body as { stream: unknown }).stream).toBe(false);
    expect(out).toEqual({ text: '4', finishReason: 'stop', model: 'gpt-test-2025', usage });
  });

  it.each([
    [401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }, 'PROVIDER_AUTH', false],
    [403, { error: { message: 'Country not supported', type: 'invalid_request_error', code: 'unsupported_country' } }, 'PROVIDER_AUTH', false],
    [429, { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } }, 'PROVIDER_RATE_LIMIT', true],
    [429, { error: { message: 'You exceeded your quota', type: 'insufficient_quota', code: 'insufficient_quota' } }, 'PROVIDER_RATE_LIMIT', false],
    [400, { error: { message: "'messages' is required", type: 'invalid_request_error', code: null } }, 'BAD_INPUT', false],
    [404, { error: { message: 'The model gpt-test does not exist', type: 'invalid_request_error', code: 'model_not_found' } }, 'MODEL_NOT_FOUND', false],
    [500, { error: { message: 'The server had an error', type: 'server_error', code: null } }, 'PROVIDER_UNAVAILABLE', true],
    [502, 'Bad Gateway', 'PROVIDER_UNAVAILABLE', true],
  ])('HTTP %i -> %s', async (status, body, code, retryable) => {
    const p = await provider((_req, res) => {
      if (typeof body !== 'string') return writeJson(res, status, body);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    });
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe(code);
    expect(f.retryable).toBe(retryable);
    const g = await failure(p.complete(request, new AbortController().signal));
    expect(g.code).toBe(code);
  });

  it('an unreachable server is PROVIDER_UNAVAILABLE (retryable)', async () => {
    const p = new OpenAiProvider({ name: 'openai', baseUrl: `${await closedPortUrl()}/v1`, models: ['gpt-test'] });
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
  });

  it("uses a user's own key for one request and scrubs it from errors", async () => {
    const userKey = 'sk-user-abcdef0123456789';
    const p = await provider((req, res) =>
      writeJson(res, 401, { error: { message: `Incorrect API key provided: ${String(req.headers['authorization'])}`, code: 'invalid_api_key' } }),
    );
    const f = await failure(collect(p.stream({ ...request, apiKey: userKey }, new AbortController().signal)));
    expect(server!.requests[0]!.headers['authorization']).toBe(`Bearer ${userKey}`);
    expect(f.message).not.toContain(userKey);
  });

  it('aborting mid-stream closes the upstream request and rejects with CANCELLED', async () => {
    const p = await provider((_req, res) => writeSse(res, [delta('first')], { end: false }));
    const ac = new AbortController();
    const seen: string[] = [];
    const f = await failure(
      (async () => {
        for await (const ev of p.stream(request, ac.signal)) {
          if (ev.type === 'delta') seen.push(ev.text);
          ac.abort();
        }
      })(),
    );
    expect(seen).toEqual(['first']);
    expect(f.code).toBe('CANCELLED');
    await server!.clientAborted();
    expect(server!.abortedCount()).toBe(1);
  });

  it('discovers models from GET /models', async () => {
    server = await startFakeServer((req, res) =>
      req.path === '/v1/models'
        ? writeJson(res, 200, {
            object: 'list',
            data: [
              { id: 'llama-3.1-8b', object: 'model', created: 0, owned_by: 'vllm' },
              { id: 'qwen2.5', object: 'model', created: 0, owned_by: 'vllm' },
            ],
          })
        : writeJson(res, 404, {}),
    );
    const models = await discoverOpenAiModels({ name: 'openai', baseUrl: `${server.url}/v1`, apiKey: KEY }, new AbortController().signal);
    expect(models).toEqual(['llama-3.1-8b', 'qwen2.5']);
    expect(server.requests[0]!.headers['authorization']).toBe(`Bearer ${KEY}`);
  });

  it('model discovery failing with 401 is PROVIDER_AUTH', async () => {
    server = await startFakeServer((_req, res) => writeJson(res, 401, { error: { message: 'no' } }));
    const f = await failure(discoverOpenAiModels({ name: 'openai', baseUrl: `${server.url}/v1` }, new AbortController().signal));
    expect(f.code).toBe('PROVIDER_AUTH');
  });
});
