/**
 * End to end through the OpenAI-compatible gateway: the official `openai` npm
 * client (baseURL = the master's /v1) talks to a real master, which schedules
 * `llm` tasks over MQTT to real workers (one in-process Worker, one
 * `taskwire worker` process) whose provider is a local OpenAI-compatible
 * server. Streaming and not, models, cluster API keys, cancel on disconnect,
 * retry of a provider 429 on another worker, no retry after a provider 401,
 * usage and time-to-first-token on the task record.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cluster.js';
import { getTask, lastUser, startLlmCluster, taskIdOf, waitForFinal, type LlmCluster } from './llm-cluster.js';

const CLUSTER_KEY = 'tw-e2e-cluster-key-0123456789';
const MODELS = ['fake-model', 'fake-large'];
const SLOW_TOKENS = 200;

describe('OpenAI-compatible gateway end to end', () => {
  let env: LlmCluster;
  let client: OpenAI;
  /** Prompts marked "[429-once]" already failed once. */
  const rateLimited = new Set<string>();

  beforeAll(async () => {
    env = await startLlmCluster({
      master: { apiKeys: [CLUSTER_KEY] },
      provider: {
        models: MODELS,
        // "slow ..." prompts get a long, paced answer (so a client can leave mid-stream).
        answer: (messages) => {
          const text = lastUser(messages);
          if (text.startsWith('slow')) return Array.from({ length: SLOW_TOKENS }, (_, i) => `w${i} `);
          return text.split(/(?<=\s)/).filter((t) => t !== '');
        },
        tokenDelayMs: (messages) => (lastUser(messages).startsWith('slow') ? 40 : 0),
        fail: (_req, messages) => {
          const text = lastUser(messages);
          if (text.includes('[401]')) {
            return { status: 401, error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } };
          }
          if (text.includes('[429-once]') && !rateLimited.has(text)) {
            rateLimited.add(text);
            return { status: 429, error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } };
          }
          return undefined;
        },
      },
    });
    client = new OpenAI({ apiKey: CLUSTER_KEY, baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  const chatRequestsFor = (prompt: string) =>
    env.provider.chatRequests().filter((r) => {
      const messages = (r.body as { messages?: { role: string; content: string }[] }).messages ?? [];
      return lastUser(messages) === prompt;
    });

  it('lists the models the provider serves', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual([...MODELS].sort());
    for (const m of models.data) {
      expect(m.object).toBe('model');
      expect(m.owned_by).toBe('openai');
    }
    expect((await client.models.retrieve('fake-large')).id).toBe('fake-large');
  });

  it('refuses a wrong or missing cluster API key with 401, and schedules nothing', async () => {
    const before = env.provider.chatRequests().length;
    for (const apiKey of ['wrong-key', `${CLUSTER_KEY}x`]) {
      const bad = new OpenAI({ apiKey, baseURL: `${env.httpUrl}/v1`, maxRetries: 0 });
      await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      await expect(bad.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: 'let me in' }] })).rejects.toMatchObject({
        status: 401,
        code: 'invalid_api_key',
      });
    }
    const noKey = await fetch(`${env.httpUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'taskwire', messages: [{ role: 'user', content: 'let me in' }] }),
    });
    expect(noKey.status).toBe(401);
    // REST is protected by the same keys.
    expect((await fetch(`${env.httpUrl}/api/v1/tasks`)).status).toBe(401);
    expect(env.provider.chatRequests().length).toBe(before);
  });

  it('answers non-streamed completions from both the in-process worker and the worker process', async () => {
    const prompts = Array.from({ length: 6 }, (_, i) => `plain question number ${i} please`);
    const answers = await Promise.all(
      prompts.map((content, i) => client.chat.completions.create({ model: i % 2 ? 'fake-model' : 'taskwire', messages: [{ role: 'user', content }] })),
    );
    const workers = new Set<string>();
    for (const [i, res] of answers.entries()) {
      expect(res.object).toBe('chat.completion');
      expect(res.choices[0]!.message.content).toBe(prompts[i]);
      expect(res.choices[0]!.finish_reason).toBe('stop');
      expect(res.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
      const task = await getTask(env.httpUrl, taskIdOf(res.id), CLUSTER_KEY);
      expect(task.kind).toBe('llm');
      expect(task.status).toBe('succeeded');
      expect(task.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
      expect(task.result).toMatchObject({ text: prompts[i], model: 'fake-model', provider: 'openai' });
      workers.add(task.worker_id!);
    }
    expect([...workers].sort()).toEqual([...env.inProcessIds, ...env.processIds].sort());
    // A named model reaches the provider as that model; "taskwire" means any.
    expect(chatRequestsFor(prompts[1]!).map((r) => (r.body as { model: string }).model)).toEqual(['fake-model']);
  }, 60_000);

  it('streams tokens, then usage, and records usage and time-to-first-token on the task', async () => {
    const workers = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const prompt = `stream me these seven words now ${i}`;
      const stream = await client.chat.completions.create({
        model: 'fake-large',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: prompt },
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: string[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      let finish: string | null | undefined;
      let id = '';
      for await (const chunk of stream) {
        id = chunk.id;
        expect(chunk.object).toBe('chat.completion.chunk');
        const choice = chunk.choices[0];
        if (choice?.delta.content) deltas.push(choice.delta.content);
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(deltas.join('')).toBe(prompt);
      // Tokens arrive as the provider sent them (one word each), not as one block.
      expect(deltas.length).toBe(7);
      expect(finish).toBe('stop');
      // 2 system words + 7 user words in, 7 tokens out (as the provider counted).
      expect(usage).toEqual({ prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 });

      const task = await getTask(env.httpUrl, taskIdOf(id), CLUSTER_KEY);
      expect(task.status).toBe('succeeded');
      expect(task.usage).toEqual({ prompt_tokens: 9, completion_tokens: 7, total_tokens: 16 });
      expect(task.timings.ttft_ms).toEqual(expect.any(Number));
      expect(task.timings.ttft_ms!).toBeGreaterThanOrEqual(0);
      expect(task.timings.ttft_ms!).toBeLessThanOrEqual(task.timings.processing_ms!);
      expect((task.result as { ttft_ms?: unknown }).ttft_ms).toEqual(expect.any(Number));
      expect(chatRequestsFor(prompt).map((r) => (r.body as { model: string; stream: boolean }).stream)).toEqual([true]);
      workers.add(task.worker_id!);
    }
    // Back-to-back tasks alternate between the two workers.
    expect([...workers].sort()).toEqual([...env.inProcessIds, ...env.processIds].sort());
  }, 60_000);

  it('cancels the task and closes the upstream request when the client aborts a stream', async () => {
    const abortedBefore = env.provider.abortedCount();
    const stream = await client.chat.completions.create({
      model: 'taskwire',
      messages: [{ role: 'user', content: 'slow and long answer please' }],
      stream: true,
    });
    let id = '';
    let received = '';
    for await (const chunk of stream) {
      id = chunk.id;
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.split(' ').length > 3) break; // leaving the loop aborts the HTTP request
    }
    expect(received.startsWith('w0 w1 w2')).toBe(true);
    const task = await waitForFinal(env.httpUrl, taskIdOf(id), CLUSTER_KEY);
    expect(task.status).toBe('cancelled');
    expect(task.error?.code).toBe('CANCELLED');
    // The worker aborted its provider request: the provider saw the client go away mid-answer.
    await waitFor(() => env.provider.abortedCount() > abortedBefore, 'the provider to see its request aborted', 10_000);
  }, 60_000);

  it('cancels the task when the client of a non-streamed request goes away', async () => {
    const abortedBefore = env.provider.abortedCount();
    const prompt = 'slow answer, not streamed to the client';
    const controller = new AbortController();
    const pending = client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }] }, { signal: controller.signal });
    const settled = pending.then(
      () => 'answered',
      (err: unknown) => (err instanceof OpenAI.APIUserAbortError ? 'aborted' : `failed: ${String(err)}`),
    );
    // The worker is streaming the answer from the provider when the client leaves.
    await waitFor(() => chatRequestsFor(prompt).length === 1, 'the provider to receive the request', 10_000);
    const record = await waitFor(
      () => env.cluster.master.tasks.list({ status: 'running', limit: 100 }).find((t) => lastUser((t.input as { messages: { role: string; content: string }[] }).messages) === prompt),
      'the task to run',
      10_000,
    );
    controller.abort();
    expect(await settled).toBe('aborted');
    const task = await waitForFinal(env.httpUrl, record.id, CLUSTER_KEY);
    expect(task.status).toBe('cancelled');
    await waitFor(() => env.provider.abortedCount() > abortedBefore, 'the provider to see its request aborted', 10_000);
  }, 60_000);

  it('retries a provider 429 on another worker, streamed and not', async () => {
    for (const stream of [false, true]) {
      const prompt = `[429-once] busy provider ${stream ? 'streamed' : 'plain'}`;
      let id: string;
      let text = '';
      if (stream) {
        const s = await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }], stream: true });
        id = '';
        for await (const chunk of s) {
          id = chunk.id;
          text += chunk.choices[0]?.delta.content ?? '';
        }
      } else {
        const res = await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }] });
        id = res.id;
        text = res.choices[0]!.message.content ?? '';
      }
      // The client never saw the 429: the answer came from the second attempt.
      expect(text).toBe(prompt);
      const task = await getTask(env.httpUrl, taskIdOf(id), CLUSTER_KEY);
      expect(task.status).toBe('succeeded');
      expect(task.attempt).toBe(2);
      const assigned = task.history.filter((h) => h.status === 'assigned');
      expect(assigned.map((h) => h.attempt)).toEqual([1, 2]);
      expect(assigned[0]!.worker_id).toBeTruthy();
      expect(assigned[1]!.worker_id).not.toBe(assigned[0]!.worker_id);
      expect(task.history.some((h) => h.status === 'queued' && /PROVIDER_RATE_LIMIT/.test(h.reason ?? ''))).toBe(true);
      expect(chatRequestsFor(prompt)).toHaveLength(2);
    }
  }, 60_000);

  it('fails after a provider 401 without retrying (attempt stays 1)', async () => {
    const prompt = '[401] the shared key is wrong';
    const err = await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    // The cluster's own provider key is bad: a server-side problem for the client, not its key.
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('provider_auth');
    expect(chatRequestsFor(prompt)).toHaveLength(1);
    const record = env.cluster.master.tasks.list({ status: 'failed', limit: 10_000 }).find((t) => {
      const messages = (t.input as { messages: { role: string; content: string }[] }).messages;
      return lastUser(messages) === prompt;
    });
    expect(record).toBeDefined();
    const task = await getTask(env.httpUrl, record!.id, CLUSTER_KEY);
    expect(task.status).toBe('failed');
    expect(task.attempt).toBe(1);
    expect(task.error?.code).toBe('PROVIDER_AUTH');
    expect(task.error?.message).toMatch(/HTTP 401/);
    expect(task.history.filter((h) => h.status === 'assigned')).toHaveLength(1);
  }, 60_000);

  it('answers 401 invalid_api_key when the key the client brought is refused by the provider', async () => {
    const prompt = '[401] my own key is wrong';
    const own = new OpenAI({
      apiKey: CLUSTER_KEY,
      baseURL: `${env.httpUrl}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'X-Taskwire-Provider-Key': 'sk-user-own-bad-key' },
    });
    for (const stream of [false, true]) {
      const p = stream
        ? own.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }], stream: true }).then(async (s) => {
            for await (const _ of s) void _;
          })
        : own.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }] });
      await expect(p).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    }
    const requests = chatRequestsFor(prompt);
    expect(requests).toHaveLength(2);
    for (const r of requests) expect(r.headers['authorization']).toBe('Bearer sk-user-own-bad-key');
  }, 60_000);
});
