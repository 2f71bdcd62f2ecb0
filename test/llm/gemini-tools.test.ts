/**
 * Function calling through the Gemini adapter against a local server speaking
 * Gemini's documented wire format: OpenAI `tools` / `tool_choice` become
 * `tools[].functionDeclarations` / `toolConfig.functionCallingConfig`, an
 * assistant turn's `tool_calls` become `functionCall` parts, a `tool` turn a
 * `functionResponse` part named after its call; `functionCall` parts in the
 * answer (streamed and not) come back as OpenAI tool calls with finish reason
 * `tool_calls`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GeminiProvider } from '../../worker/handlers/llm/gemini-provider.js';
import type { LlmRequest } from '../../worker/handlers/llm/llm-provider.js';
import { startFakeServer, writeJson, type FakeHttpServer, type FakeRoute } from './fake-http-server.js';
import { collect, failure } from './llm-test-helpers.js';

let server: FakeHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function provider(route: FakeRoute): Promise<GeminiProvider> {
  server = await startFakeServer(route);
  return new GeminiProvider({ apiKey: 'k', baseUrl: server.url, models: ['gemini-2.5-flash'] });
}

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: ['string', 'null'] } }, required: ['city'], additionalProperties: false },
  },
};

const callAnswer = {
  candidates: [
    {
      content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] },
      finishReason: 'STOP',
    },
  ],
  usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 10, totalTokenCount: 30 },
  modelVersion: 'gemini-2.5-flash-001',
};

describe('GeminiProvider: function calling', () => {
  it('sends tools as functionDeclarations, tool_choice as functionCallingConfig, and the tool turns as functionCall / functionResponse parts', async () => {
    const p = await provider((_req, res) => writeJson(res, 200, { candidates: [{ content: { role: 'model', parts: [{ text: 'Sunny.' }] }, finishReason: 'STOP' }] }));
    const request: LlmRequest = {
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c":21}' },
        { role: 'tool', tool_call_id: 'call_1', content: 'plain text result' },
      ],
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    };
    const out = await p.complete(request, new AbortController().signal);
    expect(out.text).toBe('Sunny.');
    expect(out.toolCalls).toBeUndefined();
    expect(server!.requests[0]!.body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { temp_c: 21 } } },
            { functionResponse: { name: 'get_weather', response: { content: 'plain text result' } } },
          ],
        },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_weather',
              description: 'Weather of a city',
              parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', nullable: true } }, required: ['city'] },
            },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    });
  });

  it.each([
    ['none', 'NONE'],
    ['auto', 'AUTO'],
    ['required', 'ANY'],
  ] as const)('tool_choice %s is mode %s', async (choice, mode) => {
    const p = await provider((_req, res) => writeJson(res, 200, { candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'STOP' }] }));
    await p.complete({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'q' }], tools: [weather], tool_choice: choice }, new AbortController().signal);
    expect((server!.requests[0]!.body as { toolConfig: unknown }).toolConfig).toEqual({ functionCallingConfig: { mode } });
  });

  it('functionCall parts come back as OpenAI tool calls, unstreamed and streamed, with finish reason tool_calls', async () => {
    const p = await provider((req, res) => {
      if (req.path.includes('streamGenerateContent')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Checking. ' }] } }] })}\r\n\r\n`);
        res.end(`data: ${JSON.stringify(callAnswer)}\r\n\r\n`);
        return;
      }
      writeJson(res, 200, callAnswer);
    });
    const request: LlmRequest = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Paris and Oslo?' }], tools: [weather] };
    const out = await p.complete(request, new AbortController().signal);
    expect(out.finishReason).toBe('tool_calls');
    expect(out.toolCalls).toEqual([
      { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    ]);
    const events = await collect(p.stream(request, new AbortController().signal));
    expect(events).toEqual([
      { type: 'delta', text: 'Checking. ' },
      { type: 'tool_call', index: 0, id: 'call_0', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'tool_call', index: 1, id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'finish', finishReason: 'tool_calls', usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 }, model: 'gemini-2.5-flash-001' },
    ]);
  });

  it('refuses what Gemini cannot honour with BAD_INPUT naming it, before calling it', async () => {
    const p = await provider((_req, res) => writeJson(res, 500, {}));
    const base: LlmRequest = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'q' }], tools: [weather] };
    const e1 = await failure(p.complete({ ...base, parallel_tool_calls: false }, new AbortController().signal));
    expect(e1.code).toBe('BAD_INPUT');
    expect(e1.message).toMatch(/^parallel_tool_calls: /);
    const e2 = await failure(p.complete({ ...base, messages: [{ role: 'user', content: 'q' }, { role: 'tool', tool_call_id: 'nope', content: 'r' }] }, new AbortController().signal));
    expect(e2.code).toBe('BAD_INPUT');
    expect(e2.message).toContain('tool_call_id nope');
    expect(server!.requests).toHaveLength(0);
  });
});
