/**
 * The OpenAI-compatible gateway mounted in a plain express app over a fake
 * GatewayTasks, driven by the official `openai` npm client (and raw fetch
 * where the exact bytes matter).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceExhaustedError, ValidationError } from '../../common/errors.js';
import { createOpenAiGateway, type OpenAiGatewayOptions } from '../../master/http/openai-gateway.js';
import { FakeGatewayTasks } from './fake-gateway-tasks.js';

interface Harness {
  tasks: FakeGatewayTasks;
  url: string;
  client: OpenAI;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function harness(options: OpenAiGatewayOptions = {}, clientOptions: { apiKey?: string; headers?: Record<string, string> } = {}): Promise<Harness> {
  const tasks = new FakeGatewayTasks();
  const app = express();
  app.use(createOpenAiGateway(tasks, options));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new OpenAI({
    apiKey: clientOptions.apiKey ?? 'unused',
    baseURL: `${url}/v1`,
    maxRetries: 0,
    defaultHeaders: clientOptions.headers ?? {},
  });
  return { tasks, url, client };
}

async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(OpenAI.APIError);
    return err as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error('expected an APIError');
}

describe('OpenAI gateway', () => {
  it('non-streamed chat completion through the official client', async () => {
    const { client, tasks } = await harness();
    const res = await client.chat.completions.create({
      model: 'm1',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: 'there' }] },
      ],
      temperature: 0.5,
      max_completion_tokens: 20,
      stop: 'END',
    });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toBe('chatcmpl-task-1');
    // The name the client asked for, as in the streamed chunks (the provider's 'm1-2025' is on the task result).
    expect(res.model).toBe('m1');
    expect(res.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: 'Hello world', refusal: null }, logprobs: null, finish_reason: 'stop' },
    ]);
    expect(res.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
    expect(tasks.submitted).toEqual([
      {
        kind: 'llm',
        input: {
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi\nthere' },
          ],
          model: 'm1',
          temperature: 0.5,
          max_tokens: 20,
          stop: ['END'],
        },
        owner: 'local', // the caller (no API keys: the local principal): limits and usage are charged to it
        tenant: 'default',
      },
    ]);
    expect(tasks.watching()).toBe(0);
  });

  it('streamed, with stream_options.include_usage: role chunk, deltas, finish chunk, usage chunk', async () => {
    const { client, tasks } = await harness();
    tasks.script = { chunks: ['Hel', 'lo', '!'] };
    const stream = await client.chat.completions.create({
      model: 'm1',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === 'chatcmpl-task-1' && c.model === 'm1')).toBe(true);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello!');
    const finish = chunks.at(-2)!;
    expect(finish.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    expect(finish.usage).toBeNull();
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  });

  it('the raw stream is SSE `data: ...` events ending with data: [DONE], without usage unless asked', async () => {
    const { url } = await harness();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e !== '');
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const bodies = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as Record<string, unknown>);
    expect(bodies.some((b) => 'usage' in b)).toBe(false);
    expect(bodies).toHaveLength(4);
  });

  it('GET /v1/models and /v1/models/:id', async () => {
    const { client } = await harness();
    const list = [];
    for await (const m of client.models.list()) list.push(m);
    expect(list).toEqual([
      { id: 'm1', object: 'model', created: 0, owned_by: 'openai' },
      { id: 'gemini-2.5-flash', object: 'model', created: 0, owned_by: 'gemini' },
    ]);
    expect((await client.models.retrieve('m1')).owned_by).toBe('openai');
    expect((await apiError(client.models.retrieve('nope'))).status).toBe(404);
  });

  it('with API keys configured, requires a matching Bearer token', async () => {
    const keys = new Set(['gw-key-1', 'gw-key-2']);
    const bad = await harness({ apiKeys: keys }, { apiKey: 'wrong' });
    const e = await apiError(bad.client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(e.code).toBe('invalid_api_key');
    expect(bad.tasks.submitted).toHaveLength(0);
    expect((await apiError(bad.client.models.list())).status).toBe(401);
    const good = await harness({ apiKeys: keys }, { apiKey: 'gw-key-2' });
    const res = await good.client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.choices[0]!.message.content).toBe('Hello world');
  });

  it('an unknown model is 404 model_not_found; "taskwire" means any model', async () => {
    const { client, tasks } = await harness();
    const e = await apiError(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(e).toBeInstanceOf(OpenAI.NotFoundError);
    expect(e.code).toBe('model_not_found');
    await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: 'Hi' }] });
    expect(tasks.submitted[0]!.input).toEqual({ messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('with no llm worker: 404 model_not_found in words a user understands, never internal terms (kind), streamed or not', async () => {
    const { client, tasks } = await harness();
    tasks.modelList = [];
    for (const model of ['taskwire', 'm1']) {
      for (const stream of [false, true]) {
        const e = await apiError(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }], stream }));
        expect(e).toBeInstanceOf(OpenAI.NotFoundError);
        expect(e.code).toBe('model_not_found');
        expect(e.param).toBe('model');
        expect(e.message).toContain(`The model '${model}' is not available right now: no worker serving language models is online`);
        expect(e.message).not.toMatch(/kind/);
      }
    }
    expect(tasks.submitted).toHaveLength(0);
  });

  it('a submit the master refuses for want of a worker is 404 model_not_found; over capacity is 429 with Retry-After', async () => {
    const { client, tasks, url } = await harness();
    tasks.submitError = new ValidationError('kind', 'no worker serves kind "llm" (served now: none)');
    const e = await apiError(client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(e.status).toBe(404);
    expect(e.code).toBe('model_not_found');
    expect(e.param).toBe('model');
    expect(e.message).not.toContain('kind');
    tasks.submitError = new ResourceExhaustedError('too many unfinished tasks', 7);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'taskwire', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
  });

  it('forwards response_format, seed, penalties, logit_bias and user into the llm task', async () => {
    const { client, tasks } = await harness();
    const params = {
      response_format: { type: 'json_schema' as const, json_schema: { name: 'person', schema: { type: 'object', properties: { name: { type: 'string' } } }, strict: true } },
      seed: 3,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      logit_bias: { '1234': -50 },
      user: 'u-1',
    };
    await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], ...params });
    expect(tasks.submitted[0]!.input).toEqual({ messages: [{ role: 'user', content: 'Hi' }], model: 'm1', ...params });
    await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_object' } });
    expect(tasks.submitted[1]!.input).toMatchObject({ response_format: { type: 'json_object' } });
  });

  it.each([
    [{ response_format: { type: 'yaml' } }, 'response_format.type'],
    [{ presence_penalty: 3 }, 'presence_penalty'],
    [{ seed: 1.5 }, 'seed'],
    [{ logit_bias: { abc: 1 } }, 'logit_bias.abc'],
  ])('a malformed sampling parameter %o is 400 naming %s', async (extra, param) => {
    const { client, tasks } = await harness();
    const body = { model: 'm1', messages: [{ role: 'user', content: 'Hi' }], ...extra } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming;
    const e = await apiError(client.chat.completions.create(body));
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.param).toBe(param);
    expect(tasks.submitted).toHaveLength(0);
  });

  it('a parameter the model\'s provider cannot honour is 400 naming it, before scheduling or from the worker', async () => {
    const { client, tasks } = await harness();
    const e = await apiError(
      client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }], logit_bias: { '1': 5 } }),
    );
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.param).toBe('logit_bias');
    expect(e.code).toBe('unsupported_parameter');
    expect(e.message).toContain('logit_bias');
    expect(tasks.submitted).toHaveLength(0);
    // "taskwire" may land on a Gemini worker: its BAD_INPUT names the parameter too.
    tasks.script = { fail: { code: 'BAD_INPUT', message: 'logit_bias: gemini cannot honour logit_bias (it has no token biasing)' } };
    const e2 = await apiError(client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: 'Hi' }], logit_bias: { '1': 5 } }));
    expect(e2.status).toBe(400);
    expect(e2.param).toBe('logit_bias');
  });

  it('unknown /v1 routes answer an OpenAI-shaped 404', async () => {
    const { url } = await harness();
    for (const [method, path] of [['POST', '/v1/nope'], ['GET', '/v1/chat/completions'], ['POST', '/v1/models/x/y']] as const) {
      const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url', param: null });
      expect(body.error['message']).toContain(path);
    }
    const off = await fetch(`${url}/elsewhere`);
    expect(off.status).toBe(404);
    expect(await off.text()).not.toContain('unknown_url');
  });

  it.each([
    [{ temperature: 5 }, 'temperature'],
    [{ n: 2 }, 'n'],
    [{ tools: [{ type: 'function', function: { name: 'a b' } }] }, 'tools.0.function.name'],
    [{ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'x' }] }, 'messages.1.tool_call_id'],
    [{ messages: [] }, 'messages'],
  ])('rejects %o with 400 naming %s', async (extra, param) => {
    const { client, tasks } = await harness();
    const body = { model: 'm1', messages: [{ role: 'user', content: 'Hi' }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming;
    const e = await apiError(client.chat.completions.create(body));
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.param).toBe(param);
    expect(e.type).toBe('invalid_request_error');
    expect(tasks.submitted).toHaveLength(0);
  });

  it('malformed JSON and oversized bodies get OpenAI-shaped errors', async () => {
    const { url } = await harness({ maxBodyBytes: 2048 });
    const bad = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { message: 'the body is not valid JSON', type: 'invalid_request_error', param: null, code: null } });
    const big = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm1', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
  });

  it.each([
    ['PROVIDER_RATE_LIMIT', 429, OpenAI.RateLimitError],
    ['SAFETY_BLOCKED', 400, OpenAI.BadRequestError],
    ['PROVIDER_UNAVAILABLE', 503, OpenAI.InternalServerError],
    ['PROVIDER_AUTH', 502, OpenAI.InternalServerError],
    ['MODEL_NOT_FOUND', 404, OpenAI.NotFoundError],
    ['INTERNAL', 500, OpenAI.InternalServerError],
  ])('a task failing with %s before any token is HTTP %i, streamed or not', async (code, status, cls) => {
    const { client, tasks } = await harness();
    tasks.script = { fail: { code, message: `boom ${code}` } };
    const e1 = await apiError(client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(e1).toBeInstanceOf(cls);
    expect(e1.status).toBe(status);
    expect(e1.message).toContain(`boom ${code}`);
    const e2 = await apiError(client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true }));
    expect(e2.status).toBe(status);
  });

  it("passes the client's own provider key as a task secret; a bad one is 401", async () => {
    const { client, tasks } = await harness({}, { headers: { 'X-Taskwire-Provider-Key': 'sk-own-key' } });
    tasks.script = { fail: { code: 'PROVIDER_AUTH', message: 'openai: HTTP 401: Incorrect API key' } };
    const e = await apiError(client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(tasks.submitted[0]!.secrets).toEqual({ provider_api_key: 'sk-own-key' });
    expect(JSON.stringify(tasks.submitted[0]!.input)).not.toContain('sk-own-key');
  });

  it('a failure after tokens were streamed arrives as an error event the client throws', async () => {
    const { client, tasks } = await harness();
    tasks.script = { chunks: ['partial'], fail: { code: 'PROVIDER_ERROR', message: 'engine died' } };
    const stream = await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const got: string[] = [];
    const e = await apiError(
      (async () => {
        for await (const c of stream) got.push(c.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(got.join('')).toBe('partial');
    expect(e.message).toContain('engine died');
  });

  it('a task retried after it streamed text ends the stream with an error event; text of two attempts never mixes', async () => {
    const { client, tasks } = await harness();
    tasks.script = { cutAttempts: [['The ', 'quick ', 'brown ']], chunks: ['The ', 'quick ', 'brown ', 'fox'] };
    const stream = await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const got: string[] = [];
    const e = await apiError(
      (async () => {
        for await (const c of stream) got.push(c.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(got.join('')).toBe('The quick brown ');
    expect(e.message).toContain('retried (attempt 2)');
    expect((e.error as { code?: string } | undefined)?.code ?? e.code).toBe('stream_interrupted');
  });

  it('a non-streamed request retries transparently: only the last attempt\'s text', async () => {
    const { client, tasks } = await harness();
    tasks.script = { cutAttempts: [['The ', 'quick ']], chunks: ['The ', 'quick ', 'fox'] };
    const res = await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.choices[0]!.message.content).toBe('The quick fox');
  });

  it('a stream retried before it sent any text relays the new attempt normally', async () => {
    const { client, tasks } = await harness();
    tasks.script = { cutAttempts: [[]], chunks: ['all ', 'fine'] };
    const stream = await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const got: string[] = [];
    for await (const c of stream) got.push(c.choices[0]?.delta.content ?? '');
    expect(got.join('')).toBe('all fine');
  });

  it('a streaming client that disconnects cancels its task', async () => {
    const { client, tasks } = await harness();
    tasks.script = { chunks: ['first'], hang: true };
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true },
      { signal: ac.signal },
    );
    for await (const c of stream) {
      if (c.choices[0]?.delta.content === 'first') ac.abort();
    }
    await tasks.untilCancelled();
    expect(tasks.cancelled).toEqual(['task-1']);
    expect(tasks.watching()).toBe(0);
  });

  it('a non-streaming client that disconnects cancels its task', async () => {
    const { client, tasks } = await harness();
    tasks.script = { hang: true };
    const ac = new AbortController();
    const pending = client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] }, { signal: ac.signal });
    pending.catch(() => undefined);
    while (tasks.submitted.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await tasks.untilCancelled();
    expect(tasks.cancelled).toEqual(['task-1']);
  });

  it('a finished request does not cancel its task', async () => {
    const { client, tasks } = await harness();
    await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }] });
    const stream = await client.chat.completions.create({ model: 'm1', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    for await (const _ of stream) {
      // drain
    }
    expect(tasks.cancelled).toEqual([]);
  });
});
