/**
 * Any OpenAI-compatible chat-completions server: OpenAI, Ollama (/v1), vLLM,
 * llama.cpp server, LM Studio.
 *   POST {base}/chat/completions  (stream: true, stream_options.include_usage)
 *   GET  {base}/models            (model discovery)
 * `Authorization: Bearer` only when a key is set (local servers need none).
 *
 * Quirks handled: the stream ends with `data: [DONE]`; usage comes either on
 * the last chunk (llama.cpp) or on a separate chunk with empty `choices`
 * (OpenAI, vLLM, Ollama); vLLM can send `data: {"error": {...}}` mid-stream
 * (-> PROVIDER_ERROR); `delta.content` may be null or missing (role-only and
 * reasoning chunks); `finish_reason: content_filter` -> SAFETY_BLOCKED.
 */
import { z } from 'zod';
import { TaskFailure, type TaskUsage } from '../task-handler.js';
import type { LlmCompletion, LlmProvider, LlmProviderName, LlmRequest, LlmStreamEvent, LlmToolCallDelta } from './llm-provider.js';
import { abortFailure, parseErrorObject, streamErrorFailure, transportFailure } from './provider-errors.js';
import { jsonPost, providerFetch, readJson, type FetchFn, type ProviderCall } from './provider-fetch.js';
import { readSse } from './sse-reader.js';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAiProviderOptions {
  /** "openai" for any configured OpenAI-compatible server, "ollama" for a discovered Ollama. */
  name: Extract<LlmProviderName, 'openai' | 'ollama'>;
  /** Including the /v1 suffix, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  baseUrl: string;
  apiKey?: string | undefined;
  models: readonly string[];
  fetch?: FetchFn;
}

const usageSchema = z
  .object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative().optional(),
  })
  .passthrough();

/** One piece of a streamed tool call (OpenAI's `delta.tool_calls[]`). */
const toolCallDelta = z
  .object({
    index: z.number().int().nonnegative().optional(),
    id: z.string().nullish(),
    function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).passthrough().nullish(),
  })
  .passthrough();

const toolCall = z
  .object({
    id: z.string().nullish(),
    function: z.object({ name: z.string(), arguments: z.string().nullish() }).passthrough(),
  })
  .passthrough();

const streamChunk = z
  .object({
    model: z.string().optional(),
    choices: z
      .array(
        z
          .object({
            index: z.number().optional(),
            delta: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCallDelta).nullish() }).passthrough().nullish(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    usage: usageSchema.nullish(),
  })
  .passthrough();

const completionBody = z
  .object({
    model: z.string().optional(),
    choices: z
      .array(
        z
          .object({
            index: z.number().optional(),
            message: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCall).nullish() }).passthrough(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .min(1),
    usage: usageSchema.nullish(),
  })
  .passthrough();

const modelList = z.object({ data: z.array(z.object({ id: z.string().min(1) }).passthrough()) }).passthrough();

function toUsage(u: z.infer<typeof usageSchema> | null | undefined): TaskUsage | undefined {
  if (!u) return undefined;
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.total_tokens ?? u.prompt_tokens + u.completion_tokens,
  };
}

function checkFinish(provider: string, reason: string | null | undefined): void {
  if (reason === 'content_filter') {
    throw new TaskFailure('SAFETY_BLOCKED', `${provider} withheld the answer (finish_reason content_filter)`, { retryable: false });
  }
}

function authHeaders(key: string | undefined): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** GET {base}/models: the ids the server offers. */
export async function discoverOpenAiModels(
  options: { name: string; baseUrl: string; apiKey?: string | undefined; fetch?: FetchFn },
  signal: AbortSignal,
): Promise<string[]> {
  const call: ProviderCall = { provider: options.name, fetch: options.fetch ?? fetch, secret: options.apiKey };
  const base = options.baseUrl.replace(/\/+$/, '');
  const res = await providerFetch(call, `${base}/models`, { headers: { accept: 'application/json', ...authHeaders(options.apiKey) } }, signal);
  const parsed = modelList.safeParse(await readJson(call, res, signal));
  if (!parsed.success) throw new TaskFailure('PROVIDER_ERROR', `${options.name}: unexpected /models answer`);
  return [...new Set(parsed.data.data.map((m) => m.id))];
}

export class OpenAiProvider implements LlmProvider {
  readonly name: Extract<LlmProviderName, 'openai' | 'ollama'>;
  private readonly options: OpenAiProviderOptions;
  private readonly baseUrl: string;

  constructor(options: OpenAiProviderOptions) {
    this.options = options;
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  models(): readonly string[] {
    return this.options.models;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmStreamEvent, void, undefined> {
    const call = this.call(request);
    const body = { ...this.body(request), stream: true, stream_options: { include_usage: true } };
    const res = await providerFetch(call, `${this.baseUrl}/chat/completions`, jsonPost(body, authHeaders(call.secret)), signal);
    if (!res.body) throw new TaskFailure('PROVIDER_ERROR', `${this.name}: empty response body`);
    let finishReason: string | undefined;
    let usage: TaskUsage | undefined;
    let model = request.model;
    let done = false;
    try {
      for await (const sse of readSse(res.body)) {
        if (sse.data.trim() === '[DONE]') {
          done = true;
          break;
        }
        const chunk = this.parseChunk(sse.data, call);
        if (chunk.model) model = chunk.model;
        const u = toUsage(chunk.usage);
        if (u) usage = u;
        const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
        if (!choice) continue;
        const text = choice.delta?.content;
        if (typeof text === 'string' && text !== '') yield { type: 'delta', text };
        for (const [i, t] of (choice.delta?.tool_calls ?? []).entries()) {
          const ev: LlmToolCallDelta = { type: 'tool_call', index: t.index ?? i, arguments: t.function?.arguments ?? '' };
          if (t.id) ev.id = t.id;
          if (t.function?.name) ev.name = t.function.name;
          yield ev;
        }
        if (choice.finish_reason) {
          checkFinish(this.name, choice.finish_reason);
          finishReason = choice.finish_reason;
        }
      }
    } catch (err) {
      throw transportFailure(this.name, err, signal, call.secret);
    }
    if (signal.aborted) throw abortFailure(signal);
    if (finishReason === undefined) {
      if (!done) throw new TaskFailure('PROVIDER_UNAVAILABLE', `${this.name}: stream ended early`, { retryable: true });
      finishReason = 'stop';
    }
    yield { type: 'finish', finishReason, usage, model };
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmCompletion> {
    const call = this.call(request);
    const body = { ...this.body(request), stream: false };
    const res = await providerFetch(call, `${this.baseUrl}/chat/completions`, jsonPost(body, authHeaders(call.secret)), signal);
    const value = await readJson(call, res, signal);
    const error = typeof value === 'object' && value !== null && 'error' in value ? parseErrorObject(value) : undefined;
    if (error) throw streamErrorFailure(this.name, error, call.secret);
    const parsed = completionBody.safeParse(value);
    if (!parsed.success) throw new TaskFailure('PROVIDER_ERROR', `${this.name}: unexpected chat completion shape`);
    const choice = parsed.data.choices.find((c) => (c.index ?? 0) === 0) ?? parsed.data.choices[0]!;
    checkFinish(this.name, choice.finish_reason);
    const toolCalls = (choice.message.tool_calls ?? []).map((t, i) => ({
      id: t.id || `call_${i}`,
      type: 'function' as const,
      function: { name: t.function.name, arguments: t.function.arguments ?? '' },
    }));
    return {
      text: choice.message.content ?? '',
      ...(toolCalls.length > 0 && { toolCalls }),
      finishReason: choice.finish_reason ?? 'stop',
      usage: toUsage(parsed.data.usage),
      model: parsed.data.model ?? request.model,
    };
  }

  private call(request: LlmRequest): ProviderCall {
    return { provider: this.name, fetch: this.options.fetch ?? fetch, secret: request.apiKey ?? this.options.apiKey };
  }

  private body(request: LlmRequest): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: request.messages.map((m) => {
        const out: Record<string, unknown> = { role: m.role, content: m.content };
        if (m.tool_calls) {
          out['tool_calls'] = m.tool_calls;
          if (m.content === '') out['content'] = null;
        }
        if (m.tool_call_id !== undefined) out['tool_call_id'] = m.tool_call_id;
        return out;
      }),
    };
    if (request.tools !== undefined) body['tools'] = request.tools;
    if (request.tool_choice !== undefined) body['tool_choice'] = request.tool_choice;
    if (request.parallel_tool_calls !== undefined) body['parallel_tool_calls'] = request.parallel_tool_calls;
    if (request.temperature !== undefined) body['temperature'] = request.temperature;
    if (request.top_p !== undefined) body['top_p'] = request.top_p;
    if (request.max_tokens !== undefined) body['max_tokens'] = request.max_tokens;
    if (request.stop !== undefined && request.stop.length > 0) body['stop'] = [...request.stop];
    // Passed through as OpenAI defines them (vLLM, llama.cpp and Ollama accept the same names).
    if (request.response_format !== undefined) body['response_format'] = request.response_format;
    if (request.seed !== undefined) body['seed'] = request.seed;
    if (request.presence_penalty !== undefined) body['presence_penalty'] = request.presence_penalty;
    if (request.frequency_penalty !== undefined) body['frequency_penalty'] = request.frequency_penalty;
    if (request.logit_bias !== undefined) body['logit_bias'] = { ...request.logit_bias };
    if (request.user !== undefined) body['user'] = request.user;
    return body;
  }

  private parseChunk(data: string, call: ProviderCall): z.infer<typeof streamChunk> {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      throw new TaskFailure('PROVIDER_ERROR', `${this.name}: stream event is not JSON`);
    }
    const error = typeof value === 'object' && value !== null && 'error' in value ? parseErrorObject(value) : undefined;
    if (error) throw streamErrorFailure(this.name, error, call.secret);
    const parsed = streamChunk.safeParse(value);
    if (!parsed.success) throw new TaskFailure('PROVIDER_ERROR', `${this.name}: unexpected stream chunk shape`);
    return parsed.data;
  }
}
