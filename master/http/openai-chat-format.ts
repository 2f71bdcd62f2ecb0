/**
 * The chat completions wire format (`POST /v1/chat/completions`):
 * `chat.completion` objects, or `chat.completion.chunk` SSE events (a first
 * chunk with `role: assistant`, deltas, a chunk with `finish_reason`, with
 * `stream_options.include_usage` a last chunk with empty `choices` and
 * `usage`) and `data: [DONE]`. `model` is the name the client asked for,
 * streamed or not (the provider's exact name is on the task's result).
 */
import type { JsonValue } from '../../common/json-value.js';
import type { LlmResult, ReplyFormat, SseEvent, Usage } from './completion-responder.js';
import type { ApiError } from './openai-errors.js';

export interface ChatFormatOptions {
  id: string;
  model: string;
  created: number;
  includeUsage: boolean;
}

export function chatFormat(o: ChatFormatOptions): ReplyFormat {
  const chunk = (delta: Record<string, JsonValue>, finishReason: string | null): SseEvent => {
    const body: Record<string, JsonValue> = {
      id: o.id,
      object: 'chat.completion.chunk',
      created: o.created,
      model: o.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (o.includeUsage) body['usage'] = null;
    return { data: body };
  };
  const message = (r: LlmResult): Record<string, JsonValue> => {
    const calls = r.tool_calls ?? [];
    if (calls.length === 0) return { role: 'assistant', content: r.text, refusal: null };
    return { role: 'assistant', content: r.text === '' ? null : r.text, refusal: null, tool_calls: calls as JsonValue[] };
  };
  // The text event serialized once around a marker: a token costs one JSON.stringify of its text.
  const MARK = '\u0000taskwire-text\u0000';
  const parts = `data: ${JSON.stringify(chunk({ content: MARK }, null).data)}\n\n`.split(JSON.stringify(MARK));
  const [before, after] = parts.length === 2 ? (parts as [string, string]) : [undefined, undefined];
  return {
    open: () => [chunk({ role: 'assistant', content: '', refusal: null }, null)],
    text: (text) => [chunk({ content: text }, null)],
    ...(before !== undefined && { textSse: (text: string) => before + JSON.stringify(text) + after }),
    toolCalls: (pieces) => [chunk({ tool_calls: pieces }, null)],
    end: (_r, finishReason, usage: Usage) => [
      chunk({}, finishReason),
      ...(o.includeUsage ? [{ data: { id: o.id, object: 'chat.completion.chunk', created: o.created, model: o.model, choices: [], usage: { ...usage } } }] : []),
      { data: '[DONE]' as const },
    ],
    whole: (r, finishReason, usage) => ({
      id: o.id,
      object: 'chat.completion',
      created: o.created,
      model: o.model,
      choices: [{ index: 0, message: message(r), logprobs: null, finish_reason: finishReason }],
      usage: { ...usage },
    }),
    streamError: (e: ApiError) => ({ data: { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } } }),
  };
}
