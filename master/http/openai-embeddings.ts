/**
 * `POST /v1/embeddings` of the OpenAI-compatible gateway: one `embed` task
 * per request (common/kinds/embed.ts), answered in OpenAI's shape
 * `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}`.
 * `encoding_format: "base64"` (what the official `openai` clients send by
 * default) gives each vector as base64 of little-endian float32s.
 * A client that disconnects cancels its task.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { JsonValue } from '../../common/json-value.js';
import { embedOutput, MAX_EMBED_INPUTS } from '../../common/kinds/embed.js';
import { MAX_LLM_MODEL_CHARS } from '../../common/kinds/llm.js';
import { schemaIssue } from '../../common/schema-issue.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { deadlineError, gatewayDeadline } from './gateway-deadline.js';
import { badRequest, modelNotFound, noModelAvailable, sendError, submitError, taskError } from './openai-errors.js';
import type { GatewayTasks } from './openai-gateway.js';

const embeddingsRequest = z
  .object({
    model: z.string().min(1).max(MAX_LLM_MODEL_CHARS),
    input: z.union([
      z.string(),
      z.array(z.string()).min(1).max(MAX_EMBED_INPUTS),
      z.array(z.number()).transform(() => null),
      z.array(z.array(z.number())).transform(() => null),
    ]),
    encoding_format: z.enum(['float', 'base64']).nullish(),
    dimensions: z.number().int().nullish(),
    user: z.string().nullish(),
  })
  .passthrough();

/** The models an embed task may name: aliases mean "any". */
const ANY = new Set(['taskwire', 'default', 'auto']);

function base64Of(v: readonly number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}

/** The route handler (mounted behind the gateway's auth and JSON body parser). */
export function embeddingsHandler(tasks: GatewayTasks, ownKeyOf: (req: Request) => string) {
  return async (req: Request, res: Response): Promise<void> => {
    const parsed = embeddingsRequest.safeParse(req.body);
    if (!parsed.success) {
      const { field, message } = schemaIssue(parsed.error);
      return sendError(res, badRequest(field ? `${field}: ${message}` : message, field || null));
    }
    const body = parsed.data;
    const deadline = gatewayDeadline(req.get('x-taskwire-deadline-ms')); // as chat completions do
    if ('status' in deadline) return sendError(res, deadline);
    if (body.input === null) return sendError(res, badRequest('input: token arrays are not supported; send text', 'input'));
    const served = tasks.models('embed');
    if (served.length === 0) return sendError(res, noModelAvailable(body.model, 'embed'));
    if (!ANY.has(body.model) && !served.some((m) => m.id === body.model)) return sendError(res, modelNotFound(body.model));
    const input: { [k: string]: JsonValue } = { input: typeof body.input === 'string' ? [body.input] : body.input };
    if (!ANY.has(body.model)) input['model'] = body.model;
    if (body.dimensions != null) input['dimensions'] = body.dimensions;
    if (body.user != null) input['user'] = body.user;
    const ownKey = ownKeyOf(req);
    let view: TaskView;
    try {
      // The caller (set by the gateway's authenticate): limits and usage are charged to it.
      const caller = res.locals['principal'] as { id?: string; tenant?: string } | undefined;
      const who = { owner: caller?.id, tenant: caller?.tenant, ...deadline };
      view = await tasks.submit(ownKey ? { kind: 'embed', input, secrets: { provider_api_key: ownKey }, ...who } : { kind: 'embed', input, ...who });
    } catch (err) {
      const e = submitError(err, body.model, 'embed') ?? deadlineError(err);
      if (e) return sendError(res, e);
      throw err;
    }
    const finished = await awaitTask(tasks, res, view);
    if (!finished) return;
    if (finished.status !== 'succeeded') return sendError(res, taskError(finished, ownKey !== ''));
    const out = embedOutput.safeParse(finished.result);
    if (!out.success) return sendError(res, { status: 502, message: 'worker returned an unexpected embed result', type: 'server_error', code: 'bad_result' });
    const base64 = body.encoding_format === 'base64';
    const prompt = finished.usage?.prompt_tokens ?? 0;
    res.json({
      object: 'list',
      data: out.data.embeddings.map((e, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(e) : e })),
      model: ANY.has(body.model) ? out.data.model : body.model,
      usage: { prompt_tokens: prompt, total_tokens: finished.usage?.total_tokens ?? prompt },
    });
  };
}

/** Waits for a task to end; undefined when the client left first (the task is then cancelled). */
export function awaitTask(tasks: GatewayTasks, res: Response, view: TaskView): Promise<TaskView | undefined> {
  if (TERMINAL_STATUSES.has(view.status)) return Promise.resolve(view);
  return new Promise((resolve) => {
    let settled = false;
    let unwatch: (() => void) | undefined;
    res.on('close', () => {
      if (settled) return;
      settled = true;
      unwatch?.();
      tasks.cancel(view.id);
      resolve(undefined);
    });
    unwatch = tasks.watch(view.id, {
      chunk: () => undefined,
      done: (t) => {
        if (settled) return;
        settled = true;
        unwatch?.();
        resolve(t);
      },
    });
    if (settled) unwatch();
  });
}
