/**
 * Google Gemini over its REST API (generativelanguage.googleapis.com):
 *   POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse
 *   POST {base}/v1beta/models/{model}:generateContent
 * with the key in `x-goog-api-key` (never in the URL, so it cannot leak into
 * logs of URLs). System messages become `systemInstruction`; roles are
 * `user` / `model`, and consecutive turns of one role are merged.
 *
 * Quirks handled: the SSE stream has no [DONE] (it just ends after the chunk
 * carrying `finishReason`); `usageMetadata` is cumulative, so the last one
 * wins; a blocked prompt is HTTP 200 with `promptFeedback.blockReason` and no
 * candidates; `finishReason: SAFETY` (and the other block reasons) ends an
 * answer -> SAFETY_BLOCKED; "thought" parts are not part of the answer.
 */
import { z } from 'zod';
import { TaskFailure, type TaskUsage } from '../task-handler.js';
import type { LlmCompletion, LlmFinishReason, LlmProvider, LlmRequest, LlmStreamEvent } from './llm-provider.js';
import { abortFailure, parseErrorObject, streamErrorFailure, transportFailure } from './provider-errors.js';
import { jsonPost, providerFetch, readJson, type FetchFn, type ProviderCall } from './provider-fetch.js';
import { readSse } from './sse-reader.js';

export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

export interface GeminiProviderOptions {
  apiKey: string;
  /** Without the /v1beta suffix. */
  baseUrl: string;
  models: readonly string[];
  fetch?: FetchFn;
}

const functionCall = z
  .object({ id: z.string().optional(), name: z.string(), args: z.record(z.string(), z.unknown()).optional() })
  .passthrough();
const part = z.object({ text: z.string().optional(), thought: z.boolean().optional(), functionCall: functionCall.optional() }).passthrough();
const candidate = z
  .object({
    content: z.object({ parts: z.array(part).optional(), role: z.string().optional() }).passthrough().optional(),
    finishReason: z.string().optional(),
    finishMessage: z.string().optional(),
  })
  .passthrough();
const usageMetadata = z
  .object({
    promptTokenCount: z.number().int().nonnegative().optional(),
    candidatesTokenCount: z.number().int().nonnegative().optional(),
    thoughtsTokenCount: z.number().int().nonnegative().optional(),
    totalTokenCount: z.number().int().nonnegative().optional(),
  })
  .passthrough();
const generateContentResponse = z
  .object({
    candidates: z.array(candidate).optional(),
    promptFeedback: z
      .object({ blockReason: z.string().optional(), blockReasonMessage: z.string().optional() })
      .passthrough()
      .optional(),
    usageMetadata: usageMetadata.optional(),
    modelVersion: z.string().optional(),
  })
  .passthrough();
type GenerateContentResponse = z.infer<typeof generateContentResponse>;

/** finishReason values that mean the answer was withheld. */
const BLOCKED_FINISH = new Set(['SAFETY', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'RECITATION']);

type GeminiPart =
  | { text: string }
  | { functionCall: { name: string; args: unknown } }
  | { functionResponse: { name: string; response: unknown } };

interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** A tool call's JSON `arguments` as Gemini's `args` object. */
function argsOf(name: string, args: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TaskFailure('BAD_INPUT', `messages: the arguments of the call to ${name} are not a JSON object (gemini needs one)`);
}

/** A tool result as Gemini's `functionResponse.response` (an object: JSON objects as they are, anything else under `content`). */
function responseOf(content: string): unknown {
  try {
    const v: unknown = JSON.parse(content);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    // not JSON
  }
  return { content };
}

/** OpenAI's `tools` / `tool_choice` as Gemini's `tools` / `toolConfig`. */
function geminiTools(request: LlmRequest, body: Record<string, unknown>): void {
  if (request.parallel_tool_calls === false) {
    throw new TaskFailure('BAD_INPUT', 'parallel_tool_calls: gemini cannot be limited to one tool call per turn', { retryable: false });
  }
  if (request.tools) {
    body['tools'] = [
      {
        functionDeclarations: request.tools.map((t) => ({
          name: t.function.name,
          ...(t.function.description !== undefined && { description: t.function.description }),
          ...(t.function.parameters !== undefined && { parameters: geminiSchema(t.function.parameters) }),
        })),
      },
    ];
  }
  const choice = request.tool_choice;
  if (choice !== undefined) {
    const mode = choice === 'none' ? 'NONE' : choice === 'auto' ? 'AUTO' : 'ANY';
    const config: Record<string, unknown> = { mode };
    if (typeof choice === 'object') config['allowedFunctionNames'] = [choice.function.name];
    body['toolConfig'] = { functionCallingConfig: config };
  }
}

/** The request body for generateContent / streamGenerateContent. */
export function geminiRequestBody(request: LlmRequest): Record<string, unknown> {
  const system: { text: string }[] = [];
  const contents: GeminiContent[] = [];
  // A tool message names its call by id; Gemini names the function.
  const callNames = new Map<string, string>();
  for (const m of request.messages) for (const c of m.tool_calls ?? []) callNames.set(c.id, c.function.name);
  for (const m of request.messages) {
    if (m.role === 'system') {
      system.push({ text: m.content });
      continue;
    }
    const role = m.role === 'assistant' ? 'model' : 'user';
    const parts: GeminiPart[] = [];
    if (m.role === 'tool') {
      const name = callNames.get(m.tool_call_id ?? '');
      if (!name) throw new TaskFailure('BAD_INPUT', `messages: tool_call_id ${m.tool_call_id} answers no assistant tool call`);
      parts.push({ functionResponse: { name, response: responseOf(m.content) } });
    } else {
      if (m.content !== '' || !m.tool_calls) parts.push({ text: m.content });
      for (const c of m.tool_calls ?? []) parts.push({ functionCall: { name: c.function.name, args: argsOf(c.function.name, c.function.arguments) } });
    }
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  }
  if (contents.length === 0) throw new TaskFailure('BAD_INPUT', 'gemini: needs at least one user or assistant message');
  const generationConfig: Record<string, unknown> = {};
  if (request.temperature !== undefined) generationConfig['temperature'] = request.temperature;
  if (request.top_p !== undefined) generationConfig['topP'] = request.top_p;
  if (request.max_tokens !== undefined) generationConfig['maxOutputTokens'] = request.max_tokens;
  if (request.stop !== undefined && request.stop.length > 0) generationConfig['stopSequences'] = [...request.stop];
  if (request.seed !== undefined) generationConfig['seed'] = request.seed;
  if (request.presence_penalty !== undefined) generationConfig['presencePenalty'] = request.presence_penalty;
  if (request.frequency_penalty !== undefined) generationConfig['frequencyPenalty'] = request.frequency_penalty;
  if (request.logit_bias !== undefined) {
    throw new TaskFailure('BAD_INPUT', 'logit_bias: gemini cannot honour logit_bias (it has no token biasing)', { retryable: false });
  }
  const format = request.response_format;
  if (format && format.type !== 'text') {
    generationConfig['responseMimeType'] = 'application/json';
    const schema = format.type === 'json_schema' ? format.json_schema.schema : undefined;
    if (schema) generationConfig['responseSchema'] = geminiSchema(schema);
  }
  const body: Record<string, unknown> = { contents };
  if (system.length > 0) body['systemInstruction'] = { parts: system };
  if (Object.keys(generationConfig).length > 0) body['generationConfig'] = generationConfig;
  geminiTools(request, body);
  return body;
}

/** JSON Schema keywords Gemini's OpenAPI-subset `responseSchema` refuses. */
const UNSUPPORTED_SCHEMA_KEYS = new Set(['$schema', '$id', 'additionalProperties', 'strict', 'default', 'examples', '$comment']);

/**
 * A JSON Schema (as OpenAI's `json_schema.schema`) as Gemini's `responseSchema`:
 * keywords it refuses are dropped (they only tighten validation) and
 * `type: [T, "null"]` becomes `type: T, nullable: true`.
 */
export function geminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(geminiSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (UNSUPPORTED_SCHEMA_KEYS.has(k)) continue;
    if (k === 'type' && Array.isArray(v)) {
      const types = v.filter((t) => t !== 'null');
      if (types.length < v.length) out['nullable'] = true;
      out['type'] = types.length === 1 ? types[0] : types;
      continue;
    }
    // Maps of sub-schemas (properties) keep their keys; anything else recurses.
    out[k] = k === 'properties' && v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([name, sub]) => [name, geminiSchema(sub)]))
      : geminiSchema(v);
  }
  return out;
}

function toUsage(u: z.infer<typeof usageMetadata> | undefined): TaskUsage | undefined {
  if (!u) return undefined;
  const prompt = u.promptTokenCount ?? 0;
  const completion = (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u.totalTokenCount ?? prompt + completion };
}

function toFinishReason(reason: string): LlmFinishReason {
  if (reason === 'STOP' || reason === 'FINISH_REASON_UNSPECIFIED') return 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  return reason.toLowerCase();
}

/** One parsed response (a whole answer or one stream chunk). */
interface GeminiStep {
  text: string;
  /** functionCall parts, whole (Gemini never splits one across chunks). */
  calls: { id?: string; name: string; args: Record<string, unknown> }[];
  finishReason: string | undefined;
  usage: TaskUsage | undefined;
  modelVersion: string | undefined;
}

export class GeminiProvider implements LlmProvider {
  readonly name = 'gemini' as const;
  private readonly options: GeminiProviderOptions;
  private readonly baseUrl: string;

  constructor(options: GeminiProviderOptions) {
    this.options = options;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  models(): readonly string[] {
    return this.options.models;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmStreamEvent, void, undefined> {
    const call = this.call(request);
    const res = await providerFetch(call, this.url(request.model, 'streamGenerateContent?alt=sse'), this.init(request, call), signal);
    if (!res.body) throw new TaskFailure('PROVIDER_ERROR', 'gemini: empty response body');
    let finishReason: string | undefined;
    let usage: TaskUsage | undefined;
    let model = request.model;
    let calls = 0;
    try {
      for await (const sse of readSse(res.body)) {
        const step = this.parse(sse.data, call);
        if (step.usage) usage = step.usage; // cumulative: the last one is the total
        if (step.modelVersion) model = step.modelVersion;
        if (step.text !== '') yield { type: 'delta', text: step.text };
        for (const c of step.calls) {
          const index = calls++;
          yield { type: 'tool_call', index, id: c.id ?? `call_${index}`, name: c.name, arguments: JSON.stringify(c.args) };
        }
        if (step.finishReason) finishReason = step.finishReason;
      }
    } catch (err) {
      throw transportFailure('gemini', err, signal, call.secret);
    }
    if (signal.aborted) throw abortFailure(signal);
    if (finishReason === undefined) {
      throw new TaskFailure('PROVIDER_UNAVAILABLE', 'gemini: stream ended before a finishReason', { retryable: true });
    }
    yield { type: 'finish', finishReason: calls > 0 && finishReason === 'STOP' ? 'tool_calls' : toFinishReason(finishReason), usage, model };
  }

  async complete(request: LlmRequest, signal: AbortSignal): Promise<LlmCompletion> {
    const call = this.call(request);
    const res = await providerFetch(call, this.url(request.model, 'generateContent'), this.init(request, call), signal);
    const step = this.check(await readJson(call, res, signal), call);
    const toolCalls = step.calls.map((c, i) => ({ id: c.id ?? `call_${i}`, type: 'function' as const, function: { name: c.name, arguments: JSON.stringify(c.args) } }));
    return {
      text: step.text,
      ...(toolCalls.length > 0 && { toolCalls }),
      finishReason: toolCalls.length > 0 && (step.finishReason ?? 'STOP') === 'STOP' ? 'tool_calls' : toFinishReason(step.finishReason ?? 'STOP'),
      usage: step.usage,
      model: step.modelVersion ?? request.model,
    };
  }

  private call(request: LlmRequest): ProviderCall {
    const secret = request.apiKey ?? this.options.apiKey;
    return { provider: 'gemini', fetch: this.options.fetch ?? fetch, secret };
  }

  private url(model: string, method: string): string {
    const id = model.startsWith('models/') ? model.slice('models/'.length) : model;
    return `${this.baseUrl}/v1beta/models/${encodeURIComponent(id)}:${method}`;
  }

  private init(request: LlmRequest, call: ProviderCall): RequestInit {
    return jsonPost(geminiRequestBody(request), { 'x-goog-api-key': call.secret ?? '' });
  }

  private parse(data: string, call: ProviderCall): GeminiStep {
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      throw new TaskFailure('PROVIDER_ERROR', 'gemini: stream event is not JSON');
    }
    return this.check(value, call);
  }

  /** Validates one response object and applies the block rules. */
  private check(value: unknown, call: ProviderCall): GeminiStep {
    const error = typeof value === 'object' && value !== null && 'error' in value ? parseErrorObject(value) : undefined;
    if (error) throw streamErrorFailure('gemini', error, call.secret);
    const parsed = generateContentResponse.safeParse(value);
    if (!parsed.success) throw new TaskFailure('PROVIDER_ERROR', 'gemini: unexpected response shape');
    const r: GenerateContentResponse = parsed.data;
    const blocked = r.promptFeedback?.blockReason;
    if (blocked) {
      const why = r.promptFeedback?.blockReasonMessage ? `: ${r.promptFeedback.blockReasonMessage}` : '';
      throw new TaskFailure('SAFETY_BLOCKED', `gemini blocked the prompt (${blocked})${why}`, { retryable: false });
    }
    const first = r.candidates?.[0];
    const finishReason = first?.finishReason;
    if (finishReason && BLOCKED_FINISH.has(finishReason)) {
      throw new TaskFailure('SAFETY_BLOCKED', `gemini stopped the answer (finishReason ${finishReason})`, { retryable: false });
    }
    const parts = (first?.content?.parts ?? []).filter((p) => p.thought !== true);
    const text = parts
      .filter((p) => typeof p.text === 'string')
      .map((p) => p.text)
      .join('');
    const calls = parts.flatMap((p) => (p.functionCall ? [{ ...(p.functionCall.id && { id: p.functionCall.id }), name: p.functionCall.name, args: p.functionCall.args ?? {} }] : []));
    return { text, calls, finishReason, usage: toUsage(r.usageMetadata), modelVersion: r.modelVersion };
  }
}
