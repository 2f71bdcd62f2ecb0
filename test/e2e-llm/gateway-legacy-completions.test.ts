/**
 * `POST /v1/completions` (legacy) end to end: the official `openai` client's
 * `completions.create` against a real master whose in-process llm worker
 * calls the local OpenAI-compatible provider. The prompt reaches the
 * provider as one user message with the sampling fields; the answer is a
 * `text_completion`, streamed (chunks with `choices[0].text`, a finish chunk,
 * the usage chunk when asked) and not; what taskwire cannot do is a 400
 * naming it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmCluster, type LlmCluster } from './llm-cluster.js';

describe('OpenAI gateway: legacy /v1/completions', () => {
  let env: LlmCluster;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmCluster({ inProcessWorkers: 1, processWorkers: 0 });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  it('unstreamed: a text_completion with the answer and usage; the prompt and sampling fields reach the provider', async () => {
    const res = await client.completions.create({ model: 'fake-model', prompt: 'Say this is a test', max_tokens: 7, temperature: 0, stop: '\n', seed: 3 });
    expect(res.object).toBe('text_completion');
    expect(res.id).toMatch(/^cmpl-/);
    expect(res.model).toBe('fake-model');
    expect(res.choices).toEqual([{ text: 'Say this is a test', index: 0, logprobs: null, finish_reason: 'stop' }]);
    expect(res.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
    expect(env.provider.chatRequests().at(-1)!.body).toMatchObject({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'Say this is a test' }],
      max_tokens: 7,
      temperature: 0,
      stop: ['\n'],
      seed: 3,
    });
  });

  it('streamed: text chunks, a finish chunk and the usage chunk, then [DONE]', async () => {
    const stream = await client.completions.create({ model: 'taskwire', prompt: ['one two three'], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Completion[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => c.object === 'text_completion' && c.model === 'taskwire')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe('one two three');
    expect(chunks.at(-2)!.choices[0]).toEqual({ text: '', index: 0, logprobs: null, finish_reason: 'stop' });
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it.each([
    [{ echo: true }, 'echo'],
    [{ suffix: 'x' }, 'suffix'],
    [{ logprobs: 2 }, 'logprobs'],
    [{ prompt: ['a', 'b'] }, 'prompt'],
    [{ temperature: 7 }, 'temperature'],
  ])('refuses %o with 400 naming %s', async (extra, param) => {
    const err = (await client.completions.create({ model: 'fake-model', prompt: 'p', ...extra } as OpenAI.CompletionCreateParamsNonStreaming).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe(param);
  });
});
