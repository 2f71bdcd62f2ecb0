/**
 * `POST /v1/responses` (OpenAI's Responses API, what the official SDKs and
 * `@ai-sdk/openai` now default to) on the gateway: text in, text out,
 * streamed and not. `input` (a string or message items with text parts) and
 * `instructions` become the llm task's messages; `max_output_tokens`,
 * `temperature`, `top_p`, `user` and `text.format` (JSON mode) are mapped.
 * The answer is a `response` object with one `message` output item; a
 * stream sends the documented events (`response.created`,
 * `response.output_item.added`, `response.content_part.added`,
 * `response.output_text.delta`..., `.done` events, `response.completed`),
 * each with `type` and `sequence_number`, as `event:` + `data:` SSE.
 * Tools, `previous_response_id` and non-text inputs are refused (400 naming
 * them); nothing is stored for later retrieval.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { JsonValue } from '../../common/json-value.js';
import { MAX_LLM_MESSAGES, MAX_LLM_MODEL_CHARS } from '../../common/kinds/llm.js';
import { schemaIssue } from '../../common/schema-issue.js';
import { CompletionResponder, type LlmResult, type ReplyFormat, type SseEvent, type TaskStream, type Usage } from './completion-responder.js';
import { badRequest, sendError } from './openai-errors.js';
import type { SubmitChat } from './openai-gateway.js';

const textPart = z.object({ type: z.enum(['input_text', 'output_text']), text: z.string() }).passthrough();
const messageItem = z
  .object({
    type: z.literal('message').optional(),
    role: z.enum(['user', 'assistant', 'system', 'developer']),
    content: z.union([z.string(), z.array(textPart)]),
  })
  .passthrough();
const responsesRequest = z
  .object({
    model: z.string().min(1).max(MAX_LLM_MODEL_CHARS),
    input: z.union([z.string(), z.array(messageItem).min(1).max(MAX_LLM_MESSAGES)]),
    instructions: z.string().nullish(),
    stream: z.boolean().nullish(),
    max_output_tokens: z.number().int().nullish(),
    temperature: z.number().nullish(),
    top_p: z.number().nullish(),
    user: z.string().nullish(),
    text: z
      .object({ format: z.object({ type: z.string() }).passthrough().nullish() })
      .passthrough()
      .nullish(),
    tools: z.array(z.unknown()).max(0, { message: 'tools are not supported on /v1/responses; use /v1/chat/completions' }).nullish(),
    previous_response_id: z.null({ message: 'previous_response_id is not supported (nothing is stored); send the whole conversation as input' }).nullish(),
    n: z.undefined().optional(),
  })
  .passthrough();
type ResponsesRequest = z.infer<typeof responsesRequest>;

/** Chat field -> the Responses field a 400 should name. */
function sourceField(field: string): string | undefined {
  if (field.startsWith('messages')) return 'input';
  if (field === 'max_tokens') return 'max_output_tokens';
  if (field.startsWith('response_format')) return field.replace(/^response_format(\.json_schema)?/, 'text.format');
  return undefined;
}

/** `text.format` as chat's `response_format`. */
function responseFormat(format: Record<string, unknown> | null | undefined): JsonValue | undefined {
  if (!format) return undefined;
  if (format['type'] !== 'json_schema') return format as JsonValue;
  const { type: _type, ...schema } = format;
  return { type: 'json_schema', json_schema: schema } as JsonValue;
}

function toChat(body: ResponsesRequest): Record<string, unknown> {
  const messages: { role: string; content: string }[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else for (const m of body.input) messages.push({ role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n') });
  const chat: Record<string, unknown> = { model: body.model, messages, stream: body.stream === true };
  if (body.max_output_tokens != null) chat['max_tokens'] = body.max_output_tokens;
  if (body.temperature != null) chat['temperature'] = body.temperature;
  if (body.top_p != null) chat['top_p'] = body.top_p;
  if (body.user != null) chat['user'] = body.user;
  const format = responseFormat(body.text?.format);
  if (format !== undefined) chat['response_format'] = format;
  return chat;
}

export function responsesFormat(o: { id: string; model: string; created: number; body: ResponsesRequest }): ReplyFormat {
  const itemId = `msg_${o.id.slice('resp_'.length)}`;
  let seq = 0;
  let text = '';
  const ev = (type: string, fields: Record<string, JsonValue>): SseEvent => ({ event: type, data: { type, sequence_number: seq++, ...fields } });
  const part = (t: string): Record<string, JsonValue> => ({ type: 'output_text', text: t, annotations: [] });
  const item = (status: string, t: string | undefined): Record<string, JsonValue> => ({
    type: 'message',
    id: itemId,
    status,
    role: 'assistant',
    content: t === undefined ? [] : [part(t)],
  });
  const response = (status: string, r?: LlmResult, finishReason?: string, usage?: Usage): Record<string, JsonValue> => ({
    id: o.id,
    object: 'response',
    created_at: o.created,
    status,
    error: null,
    incomplete_details: finishReason === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: o.body.instructions ?? null,
    max_output_tokens: o.body.max_output_tokens ?? null,
    model: o.model,
    output: r ? [item('completed', r.text)] : [],
    parallel_tool_calls: true,
    temperature: o.body.temperature ?? null,
    top_p: o.body.top_p ?? null,
    tool_choice: 'auto',
    tools: [],
    text: { format: (o.body.text?.format as JsonValue | undefined) ?? { type: 'text' } },
    usage: usage
      ? {
          input_tokens: usage.prompt_tokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.completion_tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.total_tokens,
        }
      : null,
    user: o.body.user ?? null,
    metadata: {},
  });
  const finalStatus = (finishReason: string) => (finishReason === 'length' ? 'incomplete' : 'completed');
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  return {
    open: () => [
      ev('response.created', { response: response('in_progress') }),
      ev('response.in_progress', { response: response('in_progress') }),
      ev('response.output_item.added', { output_index: 0, item: item('in_progress', undefined) }),
      ev('response.content_part.added', { ...at, part: part('') }),
    ],
    text: (t) => {
      text += t;
      return [ev('response.output_text.delta', { ...at, delta: t, logprobs: [] })];
    },
    toolCalls: () => [],
    end: (r, finishReason, usage) => [
      ev('response.output_text.done', { ...at, text, logprobs: [] }),
      ev('response.content_part.done', { ...at, part: part(text) }),
      ev('response.output_item.done', { output_index: 0, item: item('completed', text) }),
      ev(finishReason === 'length' ? 'response.incomplete' : 'response.completed', { response: response(finalStatus(finishReason), { ...r, text }, finishReason, usage) }),
    ],
    whole: (r, finishReason, usage) => response(finalStatus(finishReason), r, finishReason, usage),
    streamError: (e) => ev('error', { code: e.code, message: e.message, param: e.param ?? null }),
  };
}

export function responsesHandler(tasks: TaskStream, submitChat: SubmitChat, now: () => number) {
  return async (req: Request, res: Response): Promise<void> => {
    const parsed = responsesRequest.safeParse(req.body);
    if (!parsed.success) {
      const { field, message } = schemaIssue(parsed.error);
      return sendError(res, badRequest(field ? `${field}: ${message}` : message, field || null));
    }
    const body = parsed.data;
    const s = await submitChat(req, res, toChat(body), sourceField);
    if (!s) return;
    const format = responsesFormat({ id: `resp_${s.view.id}`, model: body.model, created: now(), body });
    new CompletionResponder(tasks, res, s.view, { stream: s.stream, ownKey: s.ownKey, format }).start();
  };
}
