/**
 * Contract tests of the Gemini adapter against a local server speaking the
 * Gemini REST wire format (generateContent / streamGenerateContent?alt=sse).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GeminiProvider } from '../../worker/handlers/llm/gemini-provider.js';
import type { LlmRequest, LlmStreamEvent } from '../../worker/handlers/llm/llm-provider.js';
import { TaskFailure } from '../../worker/handlers/task-handler.js';
import { closedPortUrl, startFakeServer, writeJson, type FakeHttpServer, type FakeRoute } from './fake-http-server.js';
import { collect, failure } from './llm-test-helpers.js';

const KEY = 'gem-key-0123456789';
let server: FakeHttpServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function provider(route: FakeRoute): Promise<GeminiProvider> {
  server = await startFakeServer(route);
  return new GeminiProvider({ apiKey: KEY, baseUrl: server.url, models: ['gemini-2.5-flash'] });
}

const request: LlmRequest = {
  model: 'gemini-2.5-flash',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'What is 2+2?' },
    { role: 'user', content: 'Answer in digits.' },
  ],
  temperature: 0.2,
  top_p: 0.9,
  max_tokens: 64,
  stop: ['END'],
};

function chunk(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...extra }], modelVersion: 'gemini-2.5-flash-001' };
}

/** Gemini's SSE: CRLF line ends, no [DONE], cumulative usageMetadata. */
const streamRoute: FakeRoute = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const events = [
    { ...chunk('The answer '), usageMetadata: { promptTokenCount: 12, totalTokenCount: 12 } },
    { ...chunk('is '), usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, totalTokenCount: 15 } },
    {
      ...chunk('4.', { finishReason: 'STOP' }),
      usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 5, thoughtsTokenCount: 2, totalTokenCount: 19 },
    },
  ];
  for (const e of events) res.write(`data: ${JSON.stringify(e)}\r\n\r\n`);
  res.end();
};

describe('GeminiProvider', () => {
  it('sends the documented request: path, key header, systemInstruction, user/model roles, generationConfig', async () => {
    const p = await provider(streamRoute);
    await collect(p.stream(request, new AbortController().signal));
    const rec = server!.requests[0]!;
    expect(rec.method).toBe('POST');
    expect(rec.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(rec.headers['x-goog-api-key']).toBe(KEY);
    expect(rec.path).not.toContain(KEY);
    expect(rec.body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Hello!' }] },
        { role: 'user', parts: [{ text: 'What is 2+2?' }, { text: 'Answer in digits.' }] },
      ],
      generationConfig: { temperature: 0.2, topP: 0.9, maxOutputTokens: 64, stopSequences: ['END'] },
    });
  });

  it('maps JSON mode and sampling params: responseMimeType, responseSchema (JSON Schema trimmed to its subset), seed, penalties', async () => {
    const p = await provider(streamRoute);
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: ['integer', 'null'] }, default: { type: 'boolean' } },
      required: ['name'],
      additionalProperties: false,
    };
    await collect(
      p.stream(
        {
          ...request,
          response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
          seed: 7,
          presence_penalty: 0.5,
          frequency_penalty: -0.5,
          user: 'end-user-1',
        },
        new AbortController().signal,
      ),
    );
    expect((server!.requests[0]!.body as { generationConfig: unknown }).generationConfig).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 64,
      stopSequences: ['END'],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      responseMimeType: 'application/json',
      responseSchema: {
        type: 'object',
        properties: { name: { type: 'string' }, age: { type: 'integer', nullable: true }, default: { type: 'boolean' } },
        required: ['name'],
      },
    });
    await collect(p.stream({ ...request, response_format: { type: 'json_object' } }, new AbortController().signal));
    const config = (server!.requests[1]!.body as { generationConfig: Record<string, unknown> }).generationConfig;
    expect(config['responseMimeType']).toBe('application/json');
    expect(config['responseSchema']).toBeUndefined();
  });

  it('logit_bias, which Gemini cannot honour, fails the task with BAD_INPUT naming it, before any request', async () => {
    const p = await provider(streamRoute);
    const f = await failure(collect(p.stream({ ...request, logit_bias: { '50256': -100 } }, new AbortController().signal)));
    expect(f.code).toBe('BAD_INPUT');
    expect(f.message).toMatch(/^logit_bias: /);
    expect(server!.requests).toHaveLength(0);
  });

  it('streams deltas, ends without [DONE] and takes the last (cumulative) usage', async () => {
    const p = await provider(streamRoute);
    const events = await collect(p.stream(request, new AbortController().signal));
    expect(events).toEqual([
      { type: 'delta', text: 'The answer ' },
      { type: 'delta', text: 'is ' },
      { type: 'delta', text: '4.' },
      {
        type: 'finish',
        finishReason: 'stop',
        model: 'gemini-2.5-flash-001',
        usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
      },
    ]);
  });

  it('skips thought parts and maps MAX_TOKENS to length', async () => {
    const p = await provider((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const e = {
        candidates: [{ content: { parts: [{ text: 'thinking...', thought: true }, { text: 'Partial' }] }, finishReason: 'MAX_TOKENS' }],
      };
      res.end(`data: ${JSON.stringify(e)}\n\n`);
    });
    const events = await collect(p.stream(request, new AbortController().signal));
    expect(events).toEqual([
      { type: 'delta', text: 'Partial' },
      { type: 'finish', finishReason: 'length', model: 'gemini-2.5-flash', usage: undefined },
    ]);
  });

  it('generateContent (not streamed)', async () => {
    const p = await provider((req, res) =>
      writeJson(res, 200, {
        ...chunk('Four.', { finishReason: 'STOP' }),
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
      }),
    );
    const out = await p.complete({ ...request, model: 'models/gemini-2.5-flash' }, new AbortController().signal);
    expect(server!.requests[0]!.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(out).toEqual({
      text: 'Four.',
      finishReason: 'stop',
      model: 'gemini-2.5-flash-001',
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    });
  });

  it('a blocked prompt (HTTP 200, promptFeedback.blockReason) is SAFETY_BLOCKED, streamed and not', async () => {
    const blocked = { promptFeedback: { blockReason: 'SAFETY', safetyRatings: [] }, usageMetadata: { promptTokenCount: 8 } };
    const p = await provider((req, res) => {
      if (req.path.includes('alt=sse')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${JSON.stringify(blocked)}\r\n\r\n`);
      } else {
        writeJson(res, 200, blocked);
      }
    });
    const f1 = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f1.code).toBe('SAFETY_BLOCKED');
    expect(f1.retryable).toBe(false);
    expect(f1.message).toContain('SAFETY');
    const f2 = await failure(p.complete(request, new AbortController().signal));
    expect(f2.code).toBe('SAFETY_BLOCKED');
  });

  it('finishReason SAFETY after some text is SAFETY_BLOCKED', async () => {
    const p = await provider((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(chunk('Sure, here'))}\r\n\r\n`);
      res.end(`data: ${JSON.stringify({ candidates: [{ finishReason: 'SAFETY', index: 0 }] })}\r\n\r\n`);
    });
    const seen: LlmStreamEvent[] = [];
    const f = await failure(
      (async () => {
        for await (const ev of p.stream(request, new AbortController().signal)) seen.push(ev);
      })(),
    );
    expect(seen).toEqual([{ type: 'delta', text: 'Sure, here' }]);
    expect(f.code).toBe('SAFETY_BLOCKED');
  });

  it.each([
    [401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } }, 'PROVIDER_AUTH', false],
    [403, { error: { code: 403, message: 'Permission denied', status: 'PERMISSION_DENIED' } }, 'PROVIDER_AUTH', false],
    [
      400,
      {
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' }],
        },
      },
      'PROVIDER_AUTH',
      false,
    ],
    [400, { error: { code: 400, message: 'Invalid JSON payload', status: 'INVALID_ARGUMENT' } }, 'BAD_INPUT', false],
    [404, { error: { code: 404, message: 'models/nope is not found', status: 'NOT_FOUND' } }, 'MODEL_NOT_FOUND', false],
    [429, { error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' } }, 'PROVIDER_RATE_LIMIT', true],
    [500, { error: { code: 500, message: 'Internal error', status: 'INTERNAL' } }, 'PROVIDER_UNAVAILABLE', true],
    [503, { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }, 'PROVIDER_UNAVAILABLE', true],
  ])('HTTP %i -> %s', async (status, body, code, retryable) => {
    const p = await provider((_req, res) => writeJson(res, status, body));
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe(code);
    expect(f.retryable).toBe(retryable);
    expect(f.message).toContain(String(status));
    const g = await failure(p.complete(request, new AbortController().signal));
    expect(g.code).toBe(code);
  });

  it('an unreachable server is PROVIDER_UNAVAILABLE (retryable)', async () => {
    const p = new GeminiProvider({ apiKey: KEY, baseUrl: await closedPortUrl(), models: ['gemini-2.5-flash'] });
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
  });

  it('a stream cut before any finishReason is PROVIDER_UNAVAILABLE (retryable)', async () => {
    const p = await provider((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify(chunk('Half'))}\r\n\r\n`);
    });
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
  });

  it('an error object inside the stream is PROVIDER_ERROR', async () => {
    const p = await provider((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(chunk('Hi'))}\r\n\r\n`);
      res.end(`data: ${JSON.stringify({ error: { code: 503, message: 'overloaded', status: 'UNAVAILABLE' } })}\r\n\r\n`);
    });
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_ERROR');
    expect(f.retryable).toBe(true);
  });

  it("a user's own key replaces the configured one and is scrubbed from error messages", async () => {
    const userKey = 'user-secret-key-42';
    const p = await provider((req, res) =>
      writeJson(res, 401, { error: { code: 401, message: `key ${String(req.headers['x-goog-api-key'])} rejected` } }),
    );
    const f = await failure(collect(p.stream({ ...request, apiKey: userKey }, new AbortController().signal)));
    expect(server!.requests[0]!.headers['x-goog-api-key']).toBe(userKey);
    expect(f.code).toBe('PROVIDER_AUTH');
    expect(f.message).not.toContain(userKey);
    expect(f.message).toContain('[redacted]');
  });

  it('aborting mid-stream closes the upstream request and rejects with CANCELLED', async () => {
    const p = await provider((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(chunk('first'))}\r\n\r\n`);
      // then never finishes
    });
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

  it('an abort reason that is a TaskFailure is reported as such', async () => {
    const p = await provider(() => {
      // never answers
    });
    const ac = new AbortController();
    const pending = collect(p.stream(request, ac.signal));
    ac.abort(new TaskFailure('DEADLINE_EXCEEDED', 'deadline passed'));
    const f = await failure(pending);
    expect(f.code).toBe('DEADLINE_EXCEEDED');
  });
});
