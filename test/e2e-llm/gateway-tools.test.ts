/**
 * Function calling end to end: the official `openai` client sends `tools` /
 * `tool_choice` to a real master's /v1; an in-process llm worker passes them
 * to the local OpenAI-compatible provider, which answers with tool calls in
 * OpenAI's documented wire format (unstreamed `message.tool_calls`; streamed
 * `delta.tool_calls[]` pieces: id and name first, then the arguments in
 * pieces). The client gets them back, streamed and not, the task result
 * holds them whole, and the follow-up turn (assistant `tool_calls` + `tool`
 * message) reaches the provider as sent.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmCluster, taskIdOf, waitForFinal, type LlmCluster } from './llm-cluster.js';

const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  },
];

describe('OpenAI gateway: tools', () => {
  let env: LlmCluster;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmCluster({
      inProcessWorkers: 1,
      processWorkers: 0,
      provider: {
        // Tool calls while the conversation has no tool result yet; then text.
        toolCalls: (body) => {
          const messages = body['messages'] as { role: string }[];
          if (!body['tools'] || messages.some((m) => m.role === 'tool')) return undefined;
          return [
            { name: 'get_weather', arguments: '{"city":"Paris"}' },
            { name: 'get_weather', arguments: '{"city":"Oslo"}' },
          ];
        },
        answer: () => ['Sunny ', 'in ', 'both.'],
      },
    });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  const expectedCalls = [
    { id: 'call_fake_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { id: 'call_fake_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
  ];

  it('unstreamed: tools and tool_choice reach the provider; the tool calls come back with finish_reason tool_calls', async () => {
    const res = await client.chat.completions.create({
      model: 'fake-model',
      messages: [{ role: 'user', content: 'Weather in Paris and Oslo?' }],
      tools,
      tool_choice: 'auto',
      parallel_tool_calls: true,
    });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual(expectedCalls);
    const sent = env.provider.chatRequests().at(-1)!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ tools, tool_choice: 'auto', parallel_tool_calls: true });
    const task = await waitForFinal(env.httpUrl, taskIdOf(res.id));
    expect(task.result).toMatchObject({ finish_reason: 'tool_calls', tool_calls: expectedCalls });
  });

  it('streamed: delta.tool_calls pieces the SDK puts back together', async () => {
    const raw: OpenAI.ChatCompletionChunk[] = [];
    const stream = client.chat.completions.stream({ model: 'taskwire', messages: [{ role: 'user', content: 'Weather?' }], tools });
    stream.on('chunk', (c) => raw.push(c));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual(expectedCalls);
    // The pieces are relayed as the provider streamed them: the first of each call has id and name.
    const pieces = raw.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(pieces.length).toBeGreaterThan(4);
    expect(pieces[0]).toMatchObject({ index: 0, id: 'call_fake_0', type: 'function', function: { name: 'get_weather' } });
    expect(pieces.filter((p) => p.id !== undefined).map((p) => p.index)).toEqual([0, 1]);
  });

  it('the follow-up turn: the assistant tool_calls and the tool results reach the provider; the answer is text', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      { role: 'assistant', content: null, tool_calls: expectedCalls as OpenAI.ChatCompletionMessageToolCall[] },
      { role: 'tool', tool_call_id: 'call_fake_0', content: '{"sky":"sunny"}' },
      { role: 'tool', tool_call_id: 'call_fake_1', content: '{"sky":"sunny"}' },
    ];
    const res = await client.chat.completions.create({ model: 'fake-model', messages, tools });
    expect(res.choices[0]!.message.content).toBe('Sunny in both.');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    const sent = env.provider.chatRequests().at(-1)!.body as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      { role: 'assistant', content: null, tool_calls: expectedCalls },
      { role: 'tool', tool_call_id: 'call_fake_0', content: '{"sky":"sunny"}' },
      { role: 'tool', tool_call_id: 'call_fake_1', content: '{"sky":"sunny"}' },
    ]);
  });

  it('a malformed tool turn is a 400 naming the field, and reaches no provider', async () => {
    const before = env.provider.chatRequests().length;
    const cases: [OpenAI.ChatCompletionCreateParamsNonStreaming, string][] = [
      [{ model: 'fake-model', messages: [{ role: 'user', content: 'q' }, { role: 'tool', content: 'r' } as never] }, 'messages.1.tool_call_id'],
      [{ model: 'fake-model', messages: [{ role: 'user', content: 'q' }], tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'tools.0.function.name'],
      [{ model: 'fake-model', messages: [{ role: 'user', content: 'q' }], tools, tool_choice: { type: 'function', function: { name: 'other' } } }, 'tool_choice.function.name'],
    ];
    for (const [body, param] of cases) {
      const err = (await client.chat.completions.create(body).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toBe(param);
    }
    expect(env.provider.chatRequests().length).toBe(before);
  });
});
