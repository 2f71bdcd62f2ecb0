/**
 * Provider call timeouts (worker/handlers/llm/timed-fetch.ts) against local
 * servers that stall: one never sends headers, one goes quiet mid-stream.
 * Both fail the call with a retryable PROVIDER_UNAVAILABLE naming the
 * timeout and close the upstream request; a healthy stream is untouched and
 * the task's own signal still cancels. Also through createLlmHandler with
 * TASKWIRE_LLM_FIRST_BYTE_TIMEOUT_MS / TASKWIRE_LLM_IDLE_TIMEOUT_MS.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { resolveProviderTimeouts, LLM_DEFAULTS } from '../../worker/handlers/llm/llm-config.js';
import { OpenAiProvider } from '../../worker/handlers/llm/openai-provider.js';
import { timedFetch } from '../../worker/handlers/llm/timed-fetch.js';
import type { TaskContext } from '../../worker/handlers/task-handler.js';
import { startFakeServer, writeJson, writeSse, type FakeHttpServer, type FakeRoute } from './fake-http-server.js';
import { collect, failure } from './llm-test-helpers.js';

let server: FakeHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const chunk = (content: string) => ({ object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const finish = { object: 'chat.completion.chunk', model: 'm1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };

/** Never answers chat requests; lists m1. */
const silent: FakeRoute = (req, res) => {
  if (req.path.endsWith('/models')) writeJson(res, 200, { object: 'list', data: [{ id: 'm1', object: 'model' }] });
};
/** Headers and one token, then nothing. */
const stalls: FakeRoute = (req, res) => {
  if (req.path.endsWith('/models')) return writeJson(res, 200, { object: 'list', data: [{ id: 'm1', object: 'model' }] });
  writeSse(res, [chunk('Hel')], { end: false });
};

async function provider(route: FakeRoute, firstByteMs: number, idleMs: number): Promise<OpenAiProvider> {
  server = await startFakeServer(route);
  return new OpenAiProvider({ name: 'openai', baseUrl: `${server.url}/v1`, models: ['m1'], fetch: timedFetch('openai', fetch, { firstByteMs, idleMs }) });
}

const request = { model: 'm1', messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('provider call timeouts', () => {
  it('defaults: headers within 60 s, at most 120 s of silence; env overrides', () => {
    expect(resolveProviderTimeouts({})).toEqual({ firstByteMs: LLM_DEFAULTS.firstByteTimeoutMs, idleMs: LLM_DEFAULTS.idleTimeoutMs });
    expect(LLM_DEFAULTS.firstByteTimeoutMs).toBe(60_000);
    expect(LLM_DEFAULTS.idleTimeoutMs).toBe(120_000);
    expect(resolveProviderTimeouts({ TASKWIRE_LLM_FIRST_BYTE_TIMEOUT_MS: '250', TASKWIRE_LLM_IDLE_TIMEOUT_MS: '500' })).toEqual({ firstByteMs: 250, idleMs: 500 });
    expect(() => resolveProviderTimeouts({ TASKWIRE_LLM_IDLE_TIMEOUT_MS: 'soon' })).toThrow(/TASKWIRE_LLM_IDLE_TIMEOUT_MS/);
  });

  it('a provider that never sends headers fails with a retryable PROVIDER_UNAVAILABLE and the request is closed', async () => {
    const p = await provider(silent, 150, 10_000);
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
    expect(f.message).toBe('openai: no response headers within 150 ms');
    await server!.clientAborted();
  });

  it('a stream that goes quiet mid-answer fails with the idle timeout and the request is closed', async () => {
    const p = await provider(stalls, 10_000, 150);
    const f = await failure(collect(p.stream(request, new AbortController().signal)));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
    expect(f.message).toBe('openai: no data from the provider within 150 ms');
    await server!.clientAborted();
  });

  it('a healthy stream slower overall than both timeouts is not cut; the task signal still cancels', async () => {
    const paced: FakeRoute = async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const t of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
        res.write(`data: ${JSON.stringify(chunk(t))}\n\n`);
        await new Promise((r) => setTimeout(r, 150));
      }
      writeSse(res, [finish, '[DONE]']);
    };
    // 8 gaps of 150 ms: over a second in all, never 600 ms without a byte.
    const p = await provider(paced, 600, 600);
    const events = await collect(p.stream(request, new AbortController().signal));
    expect(events.filter((e) => e.type === 'delta').map((e) => (e as { text: string }).text).join('')).toBe('abcdefgh');

    await server!.close();
    server = undefined;
    const q = await provider(silent, 10_000, 10_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const f = await failure(collect(q.stream(request, ac.signal)));
    expect(f.code).toBe('CANCELLED');
  });

  it('createLlmHandler applies the settings: a silent provider fails the task fast, retryable', async () => {
    server = await startFakeServer(silent);
    const h = await createLlmHandler(
      { OPENAI_BASE_URL: `${server.url}/v1`, TASKWIRE_OLLAMA_URL: 'off', TASKWIRE_LLM_FIRST_BYTE_TIMEOUT_MS: '200' },
      silentLogger(),
    );
    expect(h).toBeDefined();
    const ctx = {
      taskId: 't-1',
      stream: true,
      attempt: 1,
      kind: 'llm',
      input: { messages: [{ role: 'user', content: 'Hi' }] },
      signal: new AbortController().signal,
      deadlineMs: Date.now() + 60_000,
      log: silentLogger(),
      emit: () => undefined,
      secrets: async () => ({}),
    } as unknown as TaskContext;
    const f = await failure(h!.run(ctx));
    expect(f.code).toBe('PROVIDER_UNAVAILABLE');
    expect(f.retryable).toBe(true);
    expect(f.message).toContain('no response headers within 200 ms');
    await h!.close();
  });
});
