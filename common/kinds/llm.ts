/**
 * The `llm` task kind: a chat conversation sent to a language model.
 * The master validates it at submit time; the worker's llm handler parses it
 * again with the same schema. `model` (when given) restricts scheduling to
 * workers that advertise that model.
 */
import { z } from 'zod';
import type { JsonValue } from '../json-value.js';

export const LLM_PROVIDERS = ['gemini', 'openai', 'ollama'] as const;
export type LlmProviderName = (typeof LLM_PROVIDERS)[number];

export const LLM_ROLES = ['system', 'user', 'assistant', 'tool'] as const;
export type LlmRole = (typeof LLM_ROLES)[number];

export const MAX_LLM_MESSAGES = 256;
/** Characters in one message. */
export const MAX_LLM_MESSAGE_CHARS = 256 * 1024;
/** Characters over all messages (keeps an assignment well under the MQTT payload limit). */
export const MAX_LLM_TOTAL_CHARS = 1024 * 1024;
export const MAX_LLM_MODEL_CHARS = 200;
export const MAX_LLM_STOP = 4;
export const MAX_LLM_STOP_CHARS = 256;
export const MAX_LLM_MAX_TOKENS = 1_000_000;

/** Model names: letters, digits and the punctuation real model ids use ("models/gemini-2.5-flash", "llama3.2:latest"). */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;

export const llmModelName = z
  .string()
  .min(1)
  .max(MAX_LLM_MODEL_CHARS)
  .regex(MODEL_NAME_PATTERN, 'model names use letters, digits and . _ : / @ + -');

export const MAX_LLM_TOOLS = 128;
export const MAX_LLM_TOOL_CALLS = 128;
/** Function names as OpenAI allows them (Gemini accepts the same set). */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const toolName = z.string().regex(TOOL_NAME_PATTERN, 'function names are 1-64 letters, digits, _ or -');
const toolCallId = z.string().min(1).max(256);

/** One function call the model asked for (OpenAI's `tool_calls[]`): `arguments` is a JSON string. */
export const llmToolCall = z
  .object({
    id: toolCallId,
    type: z.literal('function'),
    function: z.object({ name: toolName, arguments: z.string().max(MAX_LLM_MESSAGE_CHARS) }).strict(),
  })
  .strict();
export type LlmToolCall = z.infer<typeof llmToolCall>;

/** A function the model may call (OpenAI's `tools[]`); `parameters` is a JSON Schema. */
export const llmTool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: toolName,
        description: z.string().max(4096).optional(),
        parameters: z
          .record(z.string(), z.unknown())
          .refine((v) => JSON.stringify(v).length <= 64 * 1024, { message: 'parameters over 65536 characters' })
          .optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
  })
  .strict();
export type LlmTool = z.infer<typeof llmTool>;

export const llmToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: toolName }).strict() }).strict(),
]);
export type LlmToolChoice = z.infer<typeof llmToolChoice>;

/**
 * One turn. An assistant turn may carry `tool_calls` (its content then may be
 * empty); a `tool` turn answers one call and names it by `tool_call_id`.
 */
export const llmMessage = z
  .object({
    role: z.enum(LLM_ROLES),
    content: z.string().max(MAX_LLM_MESSAGE_CHARS),
    tool_calls: z.array(llmToolCall).min(1).max(MAX_LLM_TOOL_CALLS).optional(),
    tool_call_id: toolCallId.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.tool_calls && m.role !== 'assistant') ctx.addIssue({ code: 'custom', path: ['tool_calls'], message: 'only assistant messages carry tool_calls' });
    if (m.role === 'tool' && m.tool_call_id === undefined) ctx.addIssue({ code: 'custom', path: ['tool_call_id'], message: 'a tool message needs the tool_call_id it answers' });
    if (m.role !== 'tool' && m.tool_call_id !== undefined) ctx.addIssue({ code: 'custom', path: ['tool_call_id'], message: 'only tool messages carry tool_call_id' });
  });
export type LlmMessage = z.infer<typeof llmMessage>;

/** Characters of a `json_schema` response format's schema, serialised. */
export const MAX_LLM_SCHEMA_CHARS = 64 * 1024;
export const MAX_LLM_LOGIT_BIAS = 300;

/** OpenAI's `response_format`: plain text, any JSON object, or JSON matching a schema. */
export const llmResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().min(1).max(64),
          description: z.string().max(4096).optional(),
          schema: z
            .record(z.string(), z.unknown())
            .refine((v) => JSON.stringify(v).length <= MAX_LLM_SCHEMA_CHARS, { message: `schema over ${MAX_LLM_SCHEMA_CHARS} characters` })
            .optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);
export type LlmResponseFormat = z.infer<typeof llmResponseFormat>;

export const llmInput = z
  .object({
    messages: z
      .array(llmMessage)
      .min(1)
      .max(MAX_LLM_MESSAGES)
      .refine((ms) => ms.reduce((n, m) => n + m.content.length, 0) <= MAX_LLM_TOTAL_CHARS, {
        message: `messages hold more than ${MAX_LLM_TOTAL_CHARS} characters in total`,
      })
      .refine((ms) => ms.some((m) => m.role !== 'system'), {
        message: 'needs at least one user or assistant message',
      }),
    model: llmModelName.optional(),
    provider: z.enum(LLM_PROVIDERS).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    max_tokens: z.number().int().min(1).max(MAX_LLM_MAX_TOKENS).optional(),
    stop: z.array(z.string().min(1).max(MAX_LLM_STOP_CHARS)).max(MAX_LLM_STOP).optional(),
    response_format: llmResponseFormat.optional(),
    seed: z.number().int().optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
    /** Token id (as a string) -> bias from -100 to 100 (OpenAI-compatible providers only). */
    logit_bias: z
      .record(z.string().regex(/^\d{1,10}$/, 'logit_bias keys are token ids'), z.number().min(-100).max(100))
      .refine((v) => Object.keys(v).length <= MAX_LLM_LOGIT_BIAS, { message: `at most ${MAX_LLM_LOGIT_BIAS} entries` })
      .optional(),
    /** The end user's id, passed to the provider for abuse monitoring. */
    user: z.string().min(1).max(256).optional(),
    /** Functions the model may call (OpenAI-compatible: as is; Gemini: functionDeclarations). */
    tools: z
      .array(llmTool)
      .min(1)
      .max(MAX_LLM_TOOLS)
      .refine((ts) => new Set(ts.map((t) => t.function.name)).size === ts.length, { message: 'tool function names must be unique' })
      .optional(),
    tool_choice: llmToolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.tool_choice !== undefined && v.tool_choice !== 'none' && !v.tools) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'tool_choice needs tools' });
    }
    const choice = v.tool_choice;
    if (typeof choice === 'object' && v.tools && !v.tools.some((t) => t.function.name === choice.function.name)) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice', 'function', 'name'], message: `no tool named ${choice.function.name}` });
    }
  });
export type LlmInput = z.infer<typeof llmInput>;

/** The model a task asks for, if any (the scheduler sends it only to workers advertising it). */
export function llmModel(input: JsonValue): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const model = input['model'];
  return typeof model === 'string' && model !== '' ? model : undefined;
}

/**
 * Register as KIND_SPECS.llm in common/task-kinds.ts. Structurally a KindSpec
 * (not annotated, so this module does not import task-kinds.ts and no cycle forms).
 */
export const llmKind = {
  description: 'Chat completion by a language model (Gemini, OpenAI-compatible, Ollama), streamed',
  diagnostic: false,
  input: llmInput,
  model: llmModel,
} as const;
