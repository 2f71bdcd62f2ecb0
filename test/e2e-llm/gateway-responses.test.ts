/**
 * `POST /v1/responses` end to end: the official `openai` client's
 * `responses.create` and `responses.stream` against a real master whose
 * in-process llm worker calls the local OpenAI-compatible provider:
 * `instructions` and `input` (a string or message items) become the chat
 * messages, `max_output_tokens`, `text.format` (JSON schema) and `user` are
 * mapped; the answer is a `response` with one message item (`output_text`
 * computed by the SDK), streamed as the documented event sequence (the SDK's
 * stream helper builds the final response from it); what the gateway does
 * not serve is a 400 naming it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlmCluster, taskIdOf, waitForFinal, type LlmCluster } from './llm-cluster.js';

describe('OpenAI gateway: /v1/responses', () => {
  let env: LlmCluster;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmCluster({ inProcessWorkers: 1, processWorkers: 0 });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${env.httpUrl}/v1`, maxRetries: 0, timeout: 30_000 });
  }, 90_000);

  afterAll(async () => {
    await env?.close();
  }, 60_000);

  it('unstreamed: a completed response whose output_text is the answer; instructions, input and settings reach the provider', async () => {
    const res = await client.responses.create({
      model: 'fake-model',
      instructions: 'Be brief.',
      input: 'tell me a joke',
      max_output_tokens: 50,
      temperature: 0.3,
      user: 'u-9',
      text: { format: { type: 'json_schema', name: 'joke', schema: { type: 'object', properties: { joke: { type: 'string' } } }, strict: true } },
    });
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.model).toBe('fake-model');
    expect(res.output_text).toBe('tell me a joke');
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'tell me a joke', annotations: [] }] });
    expect(res.usage).toMatchObject({ input_tokens: 6, output_tokens: 4, total_tokens: 10 });
    expect(env.provider.chatRequests().at(-1)!.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'tell me a joke' },
      ],
      max_tokens: 50,
      temperature: 0.3,
      user: 'u-9',
      response_format: { type: 'json_schema', json_schema: { name: 'joke', schema: { type: 'object' }, strict: true } },
    });
    const task = await waitForFinal(env.httpUrl, res.id.replace(/^resp_/, ''));
    expect(task.status).toBe('succeeded');
  });

  it('streamed: the documented event sequence; the SDK stream helper gives the deltas and the final response', async () => {
    const stream = client.responses.stream({
      model: 'taskwire',
      input: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: [{ type: 'input_text', text: 'count one two three' }] },
      ],
    });
    const types: string[] = [];
    let deltas = '';
    stream.on('event', (e) => types.push(e.type));
    stream.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    expect(deltas).toBe('count one two three');
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe('count one two three');
    expect(final.model).toBe('taskwire');
    expect(types[0]).toBe('response.created');
    expect(types.slice(1, 4)).toEqual(['response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(env.provider.chatRequests().at(-1)!.body).toMatchObject({
      stream: true,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'count one two three' },
      ],
    });
  });

  it('the raw stream is `event:` + `data:` SSE with increasing sequence_number', async () => {
    const res = await fetch(`${env.httpUrl}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fake-model', input: 'a b', stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = (await res.text()).trim().split('\n\n').map((block) => {
      const [ev, data] = block.split('\n');
      return { event: ev!.replace(/^event: /, ''), data: JSON.parse(data!.replace(/^data: /, '')) as { type: string; sequence_number: number } };
    });
    expect(events.every((e) => e.event === e.data.type)).toBe(true);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const completed = events.at(-1)!.data as unknown as { response: { id: string } };
    expect((await waitForFinal(env.httpUrl, taskIdOf(`chatcmpl-${completed.response.id.replace(/^resp_/, '')}`))).status).toBe('succeeded');
  });

  it.each([
    [{ tools: [{ type: 'function', name: 'f', parameters: {} }] }, 'tools'],
    [{ previous_response_id: 'resp_x' }, 'previous_response_id'],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'http://x' }] }] }, 'input'],
    [{ max_output_tokens: 0 }, 'max_output_tokens'],
  ])('refuses %o with 400 naming %s', async (extra, param) => {
    const err = (await client.responses.create({ model: 'fake-model', input: 'q', ...extra } as OpenAI.Responses.ResponseCreateParamsNonStreaming).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe(param);
  });
});
