/**
 * The local OpenAI-compatible provider used by end-to-end tests speaks the
 * real wire format (checked with the official openai client), and the llm
 * handler built from env serves it end to end, including stopping a long
 * answer.
 */
import OpenAI from 'openai';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { TaskFailure, type TaskChunk, type TaskContext } from '../../worker/handlers/task-handler.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from './fake-openai-provider.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function provider(options: Parameters<typeof startFakeOpenAiProvider>[0]): Promise<FakeOpenAiProvider> {
  const p = await startFakeOpenAiProvider(options);
  cleanups.push(() => p.close());
  return p;
}

describe('fake OpenAI-compatible provider', () => {
  it('is understood by the official openai client, streamed and not', async () => {
    const p = await provider({ models: ['tiny'], apiKey: 'sk-fake' });
    const client = new OpenAI({ baseURL: p.url, apiKey: 'sk-fake', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['tiny']);
    const full = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'one two three' }] });
    expect(full.choices[0]!.message.content).toBe('one two three');
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'one two three' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const parts: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      parts.push(c.choices[0]?.delta.content ?? '');
      usage = c.usage ?? usage;
    }
    expect(parts.join('')).toBe('one two three');
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    const bad = new OpenAI({ baseURL: p.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('the llm handler streams a long answer from it and stopping the task closes the upstream stream', async () => {
    const words = Array.from({ length: 200 }, (_, i) => `w${i} `);
    const p = await provider({ models: ['tiny'], apiKey: 'sk-fake', tokenDelayMs: 5, answer: () => words });
    const logger = pino({ level: 'silent' });
    const h = await createLlmHandler({ OPENAI_BASE_URL: p.url, OPENAI_API_KEY: 'sk-fake', TASKWIRE_OLLAMA_URL: 'off' }, logger);
    if (!h) throw new Error('expected a handler');
    cleanups.push(() => h.close());
    expect(h.models().map((m) => m.name)).toEqual(['tiny']);

    const ac = new AbortController();
    const chunks: TaskChunk[] = [];
    let third: () => void = () => undefined;
    const gotThree = new Promise<void>((resolve) => (third = resolve));
    const ctx: TaskContext = {
      taskId: 'stop-me',
      stream: true,
      attempt: 1,
      kind: 'llm',
      input: { messages: [{ role: 'user', content: 'talk a lot' }] },
      signal: ac.signal,
      deadlineMs: Date.now() + 60_000,
      log: logger,
      emit: (c) => {
        chunks.push(c);
        if (chunks.length === 3) third();
      },
      secrets: async () => ({}),
    };
    const running = h.run(ctx);
    await gotThree;
    ac.abort();
    const err = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskFailure);
    expect((err as TaskFailure).code).toBe('CANCELLED');
    await p.clientAborted();
    expect(chunks.length).toBeLessThan(words.length);
    expect(chunks.slice(0, 3)).toEqual([{ text: 'w0 ' }, { text: 'w1 ' }, { text: 'w2 ' }]);
  });
});
