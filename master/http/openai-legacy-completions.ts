/**
 * `POST /v1/completions` (OpenAI's legacy text completions) on the gateway.
 * The prompt is sent to the model as one user message (the providers behind
 * taskwire are chat models), and the answer comes back in the legacy shape:
 * `text_completion` objects, streamed as SSE `data: {text_completion}` events
 * ending with `data: [DONE]`. One prompt per request; `echo`, `suffix`,
 * `logprobs` and `best_of` > 1 are refused with a 400 naming them.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { MAX_LLM_MESSAGE_CHARS, MAX_LLM_MODEL_CHARS } from '../../common/kinds/llm.js';
import { schemaIssue } from '../../common/schema-issue.js';
import { CompletionResponder, type ReplyFormat, type TaskStream } from './completion-responder.js';
import { badRequest, sendError } from './openai-errors.js';
import type { SubmitChat } from './openai-gateway.js';

const legacyRequest = z
  .object({
    model: z.string().min(1).max(MAX_LLM_MODEL_CHARS),
    prompt: z.union([z.string().max(MAX_LLM_MESSAGE_CHARS), z.array(z.string().max(MAX_LLM_MESSAGE_CHARS)).length(1, { message: 'one prompt per request' })]),
    echo: z.literal(false, { message: 'echo is not supported' }).nullish(),
    suffix: z.null({ message: 'suffix is not supported' }).nullish(),
    logprobs: z.null({ message: 'logprobs are not supported' }).nullish(),
    best_of: z.literal(1, { message: 'only best_of = 1 is supported' }).nullish(),
  })
  .passthrough();

/** Sampling fields passed on to the chat request unchanged. */
const PASSED = ['stream', 'stream_options', 'temperature', 'top_p', 'max_tokens', 'stop', 'n', 'seed', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'user'];

export function legacyFormat(o: { id: string; model: string; created: number; includeUsage: boolean }): ReplyFormat {
  const choice = (text: string, finishReason: string | null) => ({ text, index: 0, logprobs: null, finish_reason: finishReason });
  const base = { id: o.id, object: 'text_completion', created: o.created, model: o.model };
  return {
    open: () => [],
    text: (text) => [{ data: { ...base, choices: [choice(text, null)] } }],
    toolCalls: () => [],
    end: (_r, finishReason, usage) => [
      { data: { ...base, choices: [choice('', finishReason)] } },
      ...(o.includeUsage ? [{ data: { ...base, choices: [], usage: { ...usage } } }] : []),
      { data: '[DONE]' as const },
    ],
    whole: (r, finishReason, usage) => ({ ...base, choices: [choice(r.text, finishReason)], usage: { ...usage } }),
    streamError: (e) => ({ data: { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } } }),
  };
}

export function legacyCompletionsHandler(tasks: TaskStream, submitChat: SubmitChat, now: () => number) {
  return async (req: Request, res: Response): Promise<void> => {
    const parsed = legacyRequest.safeParse(req.body);
    if (!parsed.success) {
      const { field, message } = schemaIssue(parsed.error);
      return sendError(res, badRequest(field ? `${field}: ${message}` : message, field || null));
    }
    const body = parsed.data as Record<string, unknown> & z.infer<typeof legacyRequest>;
    const prompt = typeof body.prompt === 'string' ? body.prompt : body.prompt[0]!;
    const chat: Record<string, unknown> = { model: body.model, messages: [{ role: 'user', content: prompt }] };
    for (const k of PASSED) if (body[k] !== undefined) chat[k] = body[k];
    const s = await submitChat(req, res, chat, (field) => (field.startsWith('messages') ? 'prompt' : undefined));
    if (!s) return;
    const format = legacyFormat({ id: `cmpl-${s.view.id}`, model: body.model, created: now(), includeUsage: s.includeUsage });
    new CompletionResponder(tasks, res, s.view, { stream: s.stream, ownKey: s.ownKey, format }).start();
  };
}
