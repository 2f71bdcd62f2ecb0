/**
 * The llm handler built from env by createLlmHandler, against local servers
 * speaking the OpenAI-compatible, Gemini and Ollama wire formats: streaming
 * to ctx.emit, output shape, routing, user keys, cool-down, cancellation.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../common/json-value.js';
import type { Logger } from '../../common/logger.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import type { LlmHandler } from '../../worker/handlers/llm/llm-handler.js';
import { TaskFailure, type TaskChunk, type TaskContext } from '../../worker/handlers/task-handler.js';
import { startFakeServer, writeJson, writeSse, type FakeHttpServer, type FakeRoute } from './fake-http-server.js';
import { failure } from './llm-test-helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(route: FakeRoute): Promise<FakeHttpServer> {
  const s = await startFakeServer(route);
  cleanups.push(() => s.close());
  return s;
}

function captureLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, dest), text: () => lines.join('') };
}

async function handler(env: Record<string, string>, logger: Logger): Promise<LlmHandler> {
  const h = await createLlmHandler({ TASKWIRE_OLLAMA_URL: 'off', ...env }, logger);
  if (!h) throw new Error('expected a handler');
  cleanups.push(() => h.close());
  return h;
}

let taskSeq = 0;
function context(
  input: JsonValue,
  opts: { secrets?: Record<string, string>; signal?: AbortSignal; logger: Logger },
): { ctx: TaskContext; chunks: TaskChunk[] } {
  const chunks: TaskChunk[] = [];
  const ctx: TaskContext = {
    taskId: `t-${++taskSeq}`,
    stream: true,
    attempt: 1,
    kind: 'llm',
    input,
    signal: opts.signal ?? new AbortController().signal,
    deadlineMs: Date.now() + 60_000,
    log: opts.logger,
    emit: (c) => chunks.push(c),
    secrets: async () => opts.secrets ?? {},
  };
  return { ctx, chunks };
}

function chunk(content: string | null, finish: string | null = null): Record<string, unknown> {
  return { object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] };
}

/** An OpenAI-compatible server: /v1/models lists m1 and m2; completions stream "Hello world". */
const openaiRoute: FakeRoute = (req, res) => {
  if (req.path === '/v1/models') return writeJson(res, 200, { object: 'list', data: [{ id: 'm1' }, { id: 'm2' }] });
  writeSse(res, [
    chunk('Hello'),
    chunk(' world'),
    chunk(null, 'stop'),
    { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } },
    '[DONE]',
  ]);
};

const ask = { messages: [{ role: 'user', content: 'hi' }] };

describe('createLlmHandler', () => {
  it('returns undefined when no provider is configured or found', async () => {
    const { logger } = captureLogger();
    expect(await createLlmHandler({ TASKWIRE_OLLAMA_URL: 'off' }, logger)).toBeUndefined();
  });

  it('serves discovered models of an OpenAI-compatible server and advertises them', async () => {
    const s = await server(openaiRoute);
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1` }, logger);
    expect(h.kind).toBe('llm');
    expect(h.models()).toEqual([
      { kind: 'llm', name: 'm1', versions: [], ready: true, provider: 'openai', execution_provider: '', cooldown_until_ms: 0 },
      { kind: 'llm', name: 'm2', versions: [], ready: true, provider: 'openai', execution_provider: '', cooldown_until_ms: 0 },
    ]);
  });

  it('finds a local Ollama when nothing is configured and serves its models through /v1', async () => {
    const s = await server((req, res) => {
      if (req.path === '/api/tags') return writeJson(res, 200, { models: [{ name: 'llama3.2:latest' }] });
      if (req.path === '/v1/chat/completions') return openaiRoute(req, res);
      writeJson(res, 404, {});
    });
    const { logger } = captureLogger();
    const h = await handler({ TASKWIRE_OLLAMA_URL: s.url, TASKWIRE_OLLAMA_PROBE_MS: '10000' }, logger);
    expect(h.models().map((m) => [m.provider, m.name])).toEqual([
      ['ollama', 'llama3.2:latest'],
      ['ollama', 'llama3.2'],
    ]);
    const { ctx } = context({ ...ask, model: 'llama3.2' }, { logger });
    const out = await h.run(ctx);
    expect(out.output).toMatchObject({ text: 'Hello world', provider: 'ollama' });
    expect((s.requests.at(-1)!.body as { model: string }).model).toBe('llama3.2');
  });

  it('an explicit TASKWIRE_OLLAMA_URL is served next to other providers; the default one is not probed then', async () => {
    const ollama = await server((req, res) =>
      req.path === '/api/tags' ? writeJson(res, 200, { models: [{ name: 'qwen2.5:0.5b' }] }) : openaiRoute(req, res),
    );
    const oai = await server(openaiRoute);
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${oai.url}/v1`, OPENAI_MODELS: 'm1', TASKWIRE_OLLAMA_URL: ollama.url, TASKWIRE_OLLAMA_PROBE_MS: '10000' }, logger);
    expect(h.models().map((m) => [m.provider, m.name])).toEqual([
      ['openai', 'm1'],
      ['ollama', 'qwen2.5:0.5b'],
    ]);
    const urls: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      urls.push(url);
      if (url.includes(':11434')) throw new TypeError('fetch failed (not contacted in tests)');
      return fetch(input, init);
    };
    const h2 = await createLlmHandler({ OPENAI_BASE_URL: `${oai.url}/v1`, OPENAI_MODELS: 'm1' }, logger, { fetch: recording });
    cleanups.push(async () => h2?.close());
    expect(h2?.models().map((m) => m.provider)).toEqual(['openai']);
    expect(urls).toEqual([]);
    expect(await createLlmHandler({}, logger, { fetch: recording })).toBeUndefined();
    expect(urls).toEqual(['http://127.0.0.1:11434/api/tags']);
  });

  it('streams each delta with ctx.emit and returns text, model, provider, finish_reason, ttft and usage', async () => {
    const s = await server(openaiRoute);
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1' }, logger);
    const { ctx, chunks } = context(ask, { logger });
    const out = await h.run(ctx);
    expect(chunks).toEqual([{ text: 'Hello' }, { text: ' world' }]);
    expect(out.output).toEqual({ text: 'Hello world', model: 'm1', provider: 'openai', finish_reason: 'stop', ttft_ms: expect.any(Number) });
    expect(out.usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    expect(s.requests.filter((r) => r.path === '/v1/models')).toHaveLength(0);
  });

  it('routes by model across providers and rejects models it does not serve', async () => {
    const gem = await server((_req, res) =>
      writeSse(res, [{ candidates: [{ content: { parts: [{ text: 'from gemini' }] }, finishReason: 'STOP' }] }]),
    );
    const oai = await server(openaiRoute);
    const { logger } = captureLogger();
    const h = await handler(
      { GEMINI_API_KEY: 'gk-1234', GEMINI_BASE_URL: gem.url, GEMINI_MODELS: 'g1', OPENAI_BASE_URL: `${oai.url}/v1`, OPENAI_MODELS: 'm1' },
      logger,
    );
    expect((await h.run(context({ ...ask, model: 'm1' }, { logger }).ctx)).output).toMatchObject({ provider: 'openai' });
    expect((await h.run(context({ ...ask, model: 'g1' }, { logger }).ctx)).output).toMatchObject({ provider: 'gemini', text: 'from gemini' });
    expect((await h.run(context(ask, { logger }).ctx)).output).toMatchObject({ provider: 'gemini', model: 'g1' });
    expect((await h.run(context({ ...ask, provider: 'openai' }, { logger }).ctx)).output).toMatchObject({ provider: 'openai' });
    expect((await failure(h.run(context({ ...ask, model: 'nope' }, { logger }).ctx))).code).toBe('MODEL_NOT_FOUND');
    expect((await failure(h.run(context({ ...ask, provider: 'ollama' }, { logger }).ctx))).code).toBe('UNSUPPORTED');
    expect((await failure(h.run(context({ ...ask, model: 'g1', provider: 'openai' }, { logger }).ctx))).code).toBe('MODEL_NOT_FOUND');
  });

  it('rejects bad input with BAD_INPUT naming the field', async () => {
    const s = await server(openaiRoute);
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1' }, logger);
    const f = await failure(h.run(context({ messages: [{ role: 'user', content: 1 }] }, { logger }).ctx));
    expect(f.code).toBe('BAD_INPUT');
    expect(f.message).toContain('input.messages.0.content');
    expect(s.requests).toHaveLength(0);
  });

  it("uses the user's own key for that task only and never logs it", async () => {
    const userKey = 'sk-user-ownkey-777777';
    const configured = 'sk-configured-555555';
    const s = await server((req, res) => {
      if (req.headers['authorization'] === `Bearer ${userKey}`) return openaiRoute(req, res);
      writeJson(res, 401, { error: { message: `Incorrect API key provided: ${String(req.headers['authorization'])}` } });
    });
    const { logger, text } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1', OPENAI_API_KEY: configured }, logger);
    const out = await h.run(context(ask, { logger, secrets: { provider_api_key: userKey } }).ctx);
    expect(out.output).toMatchObject({ text: 'Hello world' });
    const f = await failure(h.run(context(ask, { logger }).ctx));
    expect(f.code).toBe('PROVIDER_AUTH');
    expect(f.retryable).toBe(false);
    expect(s.requests.map((r) => r.headers['authorization'])).toEqual([`Bearer ${userKey}`, `Bearer ${configured}`]);
    expect(text()).toContain('llm task finished');
    expect(text()).not.toContain(userKey);
    expect(text()).not.toContain(configured);
  });

  it('Gemini configured without a key serves only tasks that bring their own key', async () => {
    const s = await server((_req, res) => writeSse(res, [{ candidates: [{ content: { parts: [{ text: 'ok' }] }, finishReason: 'STOP' }] }]));
    const { logger } = captureLogger();
    const h = await handler({ GEMINI_BASE_URL: s.url, GEMINI_MODELS: 'g1' }, logger);
    const f = await failure(h.run(context(ask, { logger }).ctx));
    expect(f.code).toBe('PROVIDER_AUTH');
    expect(s.requests).toHaveLength(0);
    const out = await h.run(context(ask, { logger, secrets: { provider_api_key: 'AIza-user' } }).ctx);
    expect(out.output).toMatchObject({ text: 'ok', provider: 'gemini' });
    expect(s.requests[0]!.headers['x-goog-api-key']).toBe('AIza-user');
  });

  it('cools a provider down after repeated retryable failures, then recovers', async () => {
    let healthy = false;
    const s = await server((req, res) => (healthy ? openaiRoute(req, res) : writeJson(res, 503, { error: { message: 'overloaded' } })));
    const { logger } = captureLogger();
    const h = await handler(
      { OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1', TASKWIRE_LLM_COOLDOWN_MS: '200', TASKWIRE_LLM_FAILURE_THRESHOLD: '3' },
      logger,
    );
    const changes: boolean[] = [];
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    h.onChange(() => {
      const r = h.models()[0]!.ready === true;
      changes.push(r);
      if (r) onReady();
    });
    for (let i = 0; i < 2; i++) {
      const f = await failure(h.run(context(ask, { logger }).ctx));
      expect(f).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
    }
    expect(changes).toEqual([]);
    expect(h.models()[0]!.ready).toBe(true);
    await failure(h.run(context(ask, { logger }).ctx));
    expect(changes).toEqual([false]);
    expect(h.models()[0]!.ready).toBe(false);
    // When the cool-down ends, advertised so the gateway can say when to retry.
    const until = h.models()[0]!.cooldown_until_ms ?? 0;
    expect(until).toBeGreaterThan(Date.now());
    expect(until).toBeLessThanOrEqual(Date.now() + 60_000);
    const cooling = await failure(h.run(context(ask, { logger }).ctx));
    expect(cooling.code).toBe('PROVIDER_UNAVAILABLE');
    expect(cooling.message).toContain('cooling down');
    expect(s.requests).toHaveLength(3);
    healthy = true;
    await ready;
    expect(changes).toEqual([false, true]);
    expect((await h.run(context(ask, { logger }).ctx)).output).toMatchObject({ text: 'Hello world' });
  });

  it('a non-retryable failure does not count toward the cool-down', async () => {
    const s = await server((_req, res) => writeJson(res, 401, { error: { message: 'bad key' } }));
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1', TASKWIRE_LLM_FAILURE_THRESHOLD: '1' }, logger);
    let changed = 0;
    h.onChange(() => changed++);
    await failure(h.run(context(ask, { logger }).ctx));
    await failure(h.run(context(ask, { logger }).ctx));
    expect(changed).toBe(0);
    expect(h.models()[0]!.ready).toBe(true);
  });

  it('cancelling the task aborts the provider stream', async () => {
    const s = await server((_req, res) => writeSse(res, [chunk('first')], { end: false }));
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1' }, logger);
    const ac = new AbortController();
    const { ctx } = context(ask, { logger, signal: ac.signal });
    const emitted = new Promise<void>((resolve) => {
      const emit = ctx.emit;
      (ctx as { emit: TaskContext['emit'] }).emit = (c) => {
        emit(c);
        resolve();
      };
    });
    const running = h.run(ctx);
    await emitted;
    ac.abort();
    const f = await failure(running);
    expect(f.code).toBe('CANCELLED');
    await s.clientAborted();
  });

  it('close() is idempotent', async () => {
    const s = await server(openaiRoute);
    const { logger } = captureLogger();
    const h = await handler({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_MODELS: 'm1' }, logger);
    await h.close();
    await h.close();
    expect((await failure(h.run(context(ask, { logger }).ctx))).code).toBe('PROVIDER_UNAVAILABLE');
  });
});
