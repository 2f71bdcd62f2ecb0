/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`, a client nobody here wrote)
 * against a real master's /v1, with an in-process llm + embed worker on the
 * local OpenAI-compatible provider: `openai(model)` (the Responses API, its
 * default) for generateText / streamText / generateObject, `openai.chat(model)`
 * for a tool loop (the model calls a tool, the SDK runs it, the model
 * answers), and `embed` / `embedMany` on /v1/embeddings.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany, generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lastUser, startLlmCluster, type LlmCluster } from './llm-cluster.js';

describe('the Vercel AI SDK against the gateway', () => {
  let env: LlmCluster;
  let openai: ReturnType<typeof createOpenAI>;

  beforeAll(async () => {
    env = await startLlmCluster({
      inProcessWorkers: 1,
      processWorkers: 0,
      embed: true,
      provider: {
        models: ['fake-model', 'fake-embed'],
        answer: (messages) => {
          const last = lastUser(messages);
          if (last.startsWith('json')) return ['{"name":', '"Ada",', '"age":36}'];
          if (messages.some((m) => m.role === 'tool')) return ['It ', 'is ', 'sunny ', 'in ', 'Paris.'];
          return last.split(/(?<=\s)/).filter(Boolean);
        },
        toolCalls: (body) => {
          const messages = body['messages'] as { role: string }[];
          return body['tools'] && !messages.some((m) => m.role === 'tool') ? [{ name: 'weather', arguments: '{"city":"Paris"}' }] : undefined;
        },
      },
    });
    openai = createOpenAI({ baseURL: `${env.httpUrl}/v1`, apiKey: 'unused' });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  it('generateText and streamText over the Responses API (the SDK default)', async () => {
    const before = env.provider.chatRequests().length;
    const r = await generateText({ model: openai('fake-model'), system: 'Be brief.', prompt: 'hello from the ai sdk', maxRetries: 0 });
    expect(r.text).toBe('hello from the ai sdk');
    expect(r.finishReason).toBe('stop');
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    const sent = env.provider.chatRequests().at(-1)!.body as { messages: unknown };
    expect(sent.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello from the ai sdk' },
    ]);

    const s = streamText({ model: openai('fake-model'), prompt: 'streamed words arrive', maxRetries: 0 });
    let text = '';
    for await (const part of s.textStream) text += part;
    expect(text).toBe('streamed words arrive');
    expect(await s.finishReason).toBe('stop');
    expect(env.provider.chatRequests().length).toBe(before + 2);
  });

  it('generateObject: the JSON schema reaches the provider as response_format and the object comes back', async () => {
    const { object } = await generateObject({
      model: openai('fake-model'),
      schema: z.object({ name: z.string(), age: z.number() }),
      prompt: 'json: who wrote the first program?',
      maxRetries: 0,
    });
    expect(object).toEqual({ name: 'Ada', age: 36 });
    const sent = env.provider.chatRequests().at(-1)!.body as { response_format?: { type: string; json_schema?: { schema?: unknown } } };
    expect(sent.response_format?.type).toBe('json_schema');
    expect(sent.response_format?.json_schema?.schema).toMatchObject({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'number' } } });
  });

  it('a tool loop over chat completions: the model calls the tool, the SDK runs it, the model answers', async () => {
    const calls: unknown[] = [];
    const r = await generateText({
      model: openai.chat('fake-model'),
      prompt: 'What is the weather in Paris?',
      tools: {
        weather: tool({
          description: 'The weather of a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async (input) => {
            calls.push(input);
            return { sky: 'sunny' };
          },
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expect(calls).toEqual([{ city: 'Paris' }]);
    expect(r.text).toBe('It is sunny in Paris.');
    expect(r.steps).toHaveLength(2);
    const second = env.provider.chatRequests().at(-1)!.body as { messages: { role: string; tool_call_id?: string; content: unknown }[] };
    const toolTurn = second.messages.find((m) => m.role === 'tool');
    expect(toolTurn).toMatchObject({ tool_call_id: 'call_fake_0' });
    expect(JSON.parse(String(toolTurn!.content))).toEqual({ sky: 'sunny' });
  });

  it('embed and embedMany on /v1/embeddings', async () => {
    const one = await embed({ model: openai.textEmbeddingModel('fake-embed'), value: 'hello', maxRetries: 0 });
    expect(one.embedding).toEqual([5, 0, 0.5]);
    const many = await embedMany({ model: openai.textEmbeddingModel('fake-embed'), values: ['a', 'bb'], maxRetries: 0 });
    expect(many.embeddings).toEqual([
      [1, 0, 0.5],
      [2, 1, 0.5],
    ]);
  });
});
