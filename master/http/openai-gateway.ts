/**
 * An OpenAI-compatible gateway: `POST /v1/chat/completions` (streamed and
 * not) and `GET /v1/models`, so any OpenAI client library can use the cluster
 * as its LLM backend. Each request becomes one `llm` task scheduled like any
 * other; a client that disconnects cancels its task.
 *
 * Wire format as OpenAI sends it: `chat.completion` objects, or SSE
 * `data: {chat.completion.chunk}\n\n` ... `data: [DONE]\n\n`, with a usage
 * chunk (empty `choices`) when `stream_options.include_usage` is set. Errors
 * are `{error: {message, type, param, code}}`. Headers of a stream are sent
 * with its first token, so a task that fails before any token still gets a
 * proper HTTP status.
 *
 * Model "taskwire" (or "default", "auto") means any model of any llm worker.
 * A client may pass its own provider key in `X-Taskwire-Provider-Key`; it
 * travels as a task secret, never in the task input.
 */
import { json, Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { systemClock, type Clock } from '../../common/clock.js';
import { ValidationError } from '../../common/errors.js';
import type { JsonValue } from '../../common/json-value.js';
import { llmInput, MAX_LLM_MESSAGES, MAX_LLM_MODEL_CHARS } from '../../common/kinds/llm.js';
import type { TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { schemaIssue } from '../../common/schema-issue.js';
import { Authenticator, type Principal } from './auth/principal.js';
import { CompletionResponder } from './completion-responder.js';
import { chatFormat } from './openai-chat-format.js';
import { embeddingsHandler } from './openai-embeddings.js';
import { legacyCompletionsHandler } from './openai-legacy-completions.js';
import { responsesHandler } from './openai-responses.js';
import { badRequest, coolingDown, modelNotFound, noModelAvailable, sendError, submitError } from './openai-errors.js';
import { deadlineError, gatewayDeadline } from './gateway-deadline.js';

/** What the gateway needs from the master (implemented there). */
export interface GatewayTasks {
  /** Throws ValidationError on bad input. */
  /** Resolves once the task is durable. */
  submit(req: { kind: 'llm' | 'embed'; input: JsonValue; secrets?: Record<string, string>; owner?: string; tenant?: string; deadlineMs?: number }): TaskView | Promise<TaskView>;
  /** Subscribes to a task's chunks and its final state; returns the unsubscribe function. */
  watch(id: string, l: { chunk(c: TaskChunkEvent): void; done(t: TaskView): void }): () => void;
  cancel(id: string): void;
  /** Models workers advertise, ready, for `llm` (default) or `embed`. */
  models(kind?: 'llm' | 'embed'): { id: string; owned_by: string }[];
  /** Models no online worker has ready because their providers cool down, with when the first cool-down ends (Unix ms). */
  cooling?(kind?: 'llm' | 'embed'): { id: string; untilMs: number }[];
}

export interface OpenAiGatewayOptions {
  /** When non-empty, requests need `Authorization: Bearer <one of these>`. Default: none. */
  apiKeys?: ReadonlySet<string>;
  /** The master's principal resolver (wins over apiKeys). */
  auth?: Authenticator;
  /** Largest request body. Default 4 MiB. */
  maxBodyBytes?: number;
  clock?: Clock;
}

export interface ResolvedOpenAiGatewayOptions {
  apiKeys: ReadonlySet<string>;
  auth: Authenticator;
  maxBodyBytes: number;
  clock: Clock;
}

export const OPENAI_GATEWAY_DEFAULTS = {
  apiKeys: new Set<string>() as ReadonlySet<string>,
  maxBodyBytes: 4 * 1024 * 1024,
  clock: systemClock,
} as const;

export const ANY_MODEL_ALIASES: ReadonlySet<string> = new Set(['taskwire', 'default', 'auto']);
export const PROVIDER_KEY_HEADER = 'x-taskwire-provider-key';

export function resolveOpenAiGatewayOptions(options: OpenAiGatewayOptions = {}): ResolvedOpenAiGatewayOptions {
  const maxBodyBytes = options.maxBodyBytes ?? OPENAI_GATEWAY_DEFAULTS.maxBodyBytes;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    throw new ValidationError('maxBodyBytes', `must be an integer >= 1024, got ${maxBodyBytes}`);
  }
  return {
    apiKeys: options.apiKeys ?? OPENAI_GATEWAY_DEFAULTS.apiKeys,
    auth: options.auth ?? new Authenticator(options.apiKeys ?? OPENAI_GATEWAY_DEFAULTS.apiKeys),
    maxBodyBytes,
    clock: options.clock ?? OPENAI_GATEWAY_DEFAULTS.clock,
  };
}

const textPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const chatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(textPart), z.null()]),
  })
  .passthrough();
const chatRequest = z
  .object({
    model: z.string().min(1).max(MAX_LLM_MODEL_CHARS),
    messages: z.array(chatMessage).min(1).max(MAX_LLM_MESSAGES),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
    temperature: z.number().nullish(),
    top_p: z.number().nullish(),
    max_tokens: z.number().int().nullish(),
    max_completion_tokens: z.number().int().nullish(),
    stop: z.union([z.string(), z.array(z.string())]).nullish(),
    n: z.literal(1, { message: 'only n = 1 is supported' }).nullish(),
  })
  .passthrough();
type ChatRequest = z.infer<typeof chatRequest>;


/** Request fields forwarded to the provider unchanged (see common/kinds/llm.ts). */
const FORWARDED_PARAMS = [
  'response_format',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'user',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
] as const;

/** Parameters a provider has no equivalent for: asking for them is a 400 naming them, never a silent drop. */
const UNSUPPORTED_BY_PROVIDER: Readonly<Record<string, readonly string[]>> = { gemini: ['logit_bias'] };



function textOf(content: ChatRequest['messages'][number]['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('\n');
}

/** Translates a chat request into `llm` task input; throws ApiError-shaped ValidationError. */
function toTaskInput(body: ChatRequest, model: string | undefined, source?: (field: string) => string | undefined): JsonValue {
  const input: { [k: string]: JsonValue } = {
    messages: body.messages.map((m) => {
      const out: { [k: string]: JsonValue } = { role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) };
      // Tool calls and the ids that answer them pass on as sent; llmInput validates them.
      const { tool_calls: calls, tool_call_id: callId } = m as { tool_calls?: unknown; tool_call_id?: unknown };
      if (calls != null && !(Array.isArray(calls) && calls.length === 0)) out['tool_calls'] = calls as JsonValue;
      if (callId != null) out['tool_call_id'] = callId as JsonValue;
      return out;
    }),
  };
  if (model !== undefined) input['model'] = model;
  if (body.temperature != null) input['temperature'] = body.temperature;
  if (body.top_p != null) input['top_p'] = body.top_p;
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) input['max_tokens'] = maxTokens;
  if (body.stop != null) input['stop'] = typeof body.stop === 'string' ? [body.stop] : body.stop;
  // Passed on as the client sent them; llmInput validates them (a bad one is a 400 naming it).
  for (const key of FORWARDED_PARAMS) {
    const v = (body as Record<string, unknown>)[key];
    if (v !== undefined && v !== null) input[key] = v as JsonValue;
  }
  const parsed = llmInput.safeParse(input);
  if (!parsed.success) {
    const { field, message } = schemaIssue(parsed.error);
    throw new ValidationError(source?.(field) ?? field, message);
  }
  return parsed.data as JsonValue;
}

/** A chat-shaped request's task, submitted (see submitChat in createOpenAiGateway). */
export interface SubmittedChat {
  view: TaskView;
  ownKey: boolean;
  stream: boolean;
  includeUsage: boolean;
}

/**
 * Submits a chat-shaped request; `source` names a chat field as the caller's
 * request names it (`max_tokens` -> `max_output_tokens`), for 400s.
 */
export type SubmitChat = (req: Request, res: Response, raw: unknown, source?: (field: string) => string | undefined) => Promise<SubmittedChat | undefined>;

export function createOpenAiGateway(tasks: GatewayTasks, options: OpenAiGatewayOptions = {}): Router {
  const opts = resolveOpenAiGatewayOptions(options);
  const router = Router();

  const authenticate = (req: Request, res: Response, next: NextFunction): void => {
    // The master's auth middleware has resolved the caller already; standalone, resolve here.
    const principal = (res.locals['principal'] as Principal | undefined) ?? opts.auth.fromAuthorization(req.get('authorization'));
    if (principal) {
      res.locals['principal'] = principal;
      return next();
    }
    sendError(res, { status: 401, message: 'Incorrect or missing API key.', type: 'invalid_request_error', code: 'invalid_api_key' });
  };

  const now = (): number => Math.floor(opts.clock.now() / 1000);

  /** Chat and embedding models, each once. */
  const allModels = () => {
    const seen = new Map<string, string>();
    for (const m of [...tasks.models(), ...tasks.models('embed')]) if (!seen.has(m.id)) seen.set(m.id, m.owned_by);
    return [...seen].map(([id, owned_by]) => ({ id, owned_by }));
  };

  router.get('/v1/models', authenticate, (_req, res) => {
    const data = allModels().map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.owned_by }));
    res.json({ object: 'list', data });
  });

  router.get('/v1/models/:id', authenticate, (req, res) => {
    const id = String(req.params['id']);
    const m = allModels().find((x) => x.id === id);
    if (!m) {
      return sendError(res, {
        status: 404,
        message: `The model '${id}' does not exist`,
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      });
    }
    res.json({ id: m.id, object: 'model', created: 0, owned_by: m.owned_by });
  });

  /**
   * Validates a chat-shaped request, checks its model and submits its `llm`
   * task; answers any refusal itself (and returns undefined then). The other
   * /v1 routes translate their requests into this shape.
   */
  const submitChat: SubmitChat = async (req, res, raw, source) => {
    const parsed = chatRequest.safeParse(raw);
    if (!parsed.success) {
      const { field, message } = schemaIssue(parsed.error);
      const param = source?.(field) ?? field;
      sendError(res, badRequest(param ? `${param}: ${message}` : message, param || null));
      return undefined;
    }
    const body = parsed.data;
    let model: string | undefined;
    const served = tasks.models();
    // Every provider of the model (or of all models) cooling down: fail fast with when to retry, never queue.
    const cooling = tasks.cooling?.() ?? [];
    const alias = ANY_MODEL_ALIASES.has(body.model);
    const cools = alias ? (served.length === 0 ? cooling : []) : cooling.filter((m) => m.id === body.model);
    if (cools.length > 0 && (alias || !served.some((m) => m.id === body.model))) {
      return void sendError(res, coolingDown(body.model, Math.min(...cools.map((m) => m.untilMs)) - opts.clock.now()));
    }
    if (served.length === 0) return void sendError(res, noModelAvailable(body.model));
    if (!alias) {
      const entry = served.find((m) => m.id === body.model);
      if (!entry) return void sendError(res, modelNotFound(body.model));
      const refused = (UNSUPPORTED_BY_PROVIDER[entry.owned_by] ?? []).find((k) => (body as Record<string, unknown>)[k] != null);
      if (refused) return void sendError(res, badRequest(`${refused}: ${entry.owned_by} models cannot honour ${refused}`, refused, 'unsupported_parameter'));
      model = body.model;
    }
    const ownKey = req.get(PROVIDER_KEY_HEADER)?.trim() ?? '';
    const deadline = gatewayDeadline(req.get('x-taskwire-deadline-ms')); // gateway-deadline.ts
    if ('status' in deadline) return void sendError(res, deadline);
    try {
      const input = toTaskInput(body, model, source);
      const caller = res.locals['principal'] as Principal | undefined; // set by authenticate
      const who = { owner: caller?.id, tenant: caller?.tenant, ...deadline };
      const view = await tasks.submit(ownKey ? { kind: 'llm', input, secrets: { provider_api_key: ownKey }, ...who } : { kind: 'llm', input, ...who });
      return { view, ownKey: ownKey !== '', stream: body.stream === true, includeUsage: body.stream_options?.include_usage === true };
    } catch (err) {
      const e = submitError(err, body.model) ?? deadlineError(err);
      if (!e) throw err;
      if (e.param && source) e.param = source(e.param) ?? e.param;
      sendError(res, e);
      return undefined;
    }
  };

  router.post('/v1/chat/completions', authenticate, json({ limit: opts.maxBodyBytes }), async (req, res) => {
    const s = await submitChat(req, res, req.body);
    if (!s) return;
    const model = String((req.body as { model: unknown }).model);
    const format = chatFormat({ id: `chatcmpl-${s.view.id}`, model, created: now(), includeUsage: s.includeUsage });
    new CompletionResponder(tasks, res, s.view, { stream: s.stream, ownKey: s.ownKey, format }).start();
  });

  router.post('/v1/completions', authenticate, json({ limit: opts.maxBodyBytes }), legacyCompletionsHandler(tasks, submitChat, now));
  router.post('/v1/responses', authenticate, json({ limit: opts.maxBodyBytes }), responsesHandler(tasks, submitChat, now));

  router.post('/v1/embeddings', authenticate, json({ limit: opts.maxBodyBytes }), embeddingsHandler(tasks, (req) => req.get(PROVIDER_KEY_HEADER)?.trim() ?? ''));

  // Anything else under /v1 answers as OpenAI does (mount other /v1 routes before this router).
  router.use('/v1', authenticate, (req, res) => {
    sendError(res, {
      status: 404,
      message: `Unknown request URL: ${req.method} ${req.originalUrl.split('?')[0]!.slice(0, 200)}. This server serves /v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings and /v1/models.`,
      type: 'invalid_request_error',
      code: 'unknown_url',
    });
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const type = typeof err === 'object' && err !== null ? (err as { type?: unknown }).type : undefined;
    if (type === 'entity.too.large') {
      const message = `request body over ${opts.maxBodyBytes} bytes`;
      return sendError(res, { status: 413, message, type: 'invalid_request_error', code: 'request_too_large' });
    }
    if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return sendError(res, badRequest('the body is not valid JSON'));
    }
    // e.g. a path that is not valid percent-encoding (`/v1/models/%ZZ`): the client's fault.
    const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
    if (typeof status === 'number' && status >= 400 && status < 500) return sendError(res, badRequest('the request path or body is malformed', null));
    sendError(res, { status: 500, message: 'internal error', type: 'server_error', code: null });
  });

  return router;
}
