/**
 * The OpenAI-compatible gateway's errors, in OpenAI's shape
 * `{"error": {"message", "type", "param", "code"}}`: the master's refusals
 * and failed tasks mapped to the statuses and codes OpenAI clients handle.
 */
import type { Response } from 'express';
import { PayloadTooLargeError, ResourceExhaustedError, TaskwireError, ValidationError } from '../../common/errors.js';
import { llmInput } from '../../common/kinds/llm.js';
import type { TaskView } from '../../common/task-view.js';

/** A worker's BAD_INPUT message may start with the llm input field it refuses (`logit_bias: ...`). */
const PARAM_PREFIX = new RegExp(`^(${Object.keys(llmInput.shape).join('|')}): `);

export interface ApiError {
  status: number;
  message: string;
  type: string;
  code: string | null;
  param?: string | null;
  /** Sent as `Retry-After` (seconds). */
  retryAfterS?: number;
  /** More response headers (the rate-limit fields of a limit's 429). */
  headers?: Readonly<Record<string, string>>;
}

export function sendError(res: Response, e: ApiError): void {
  if (e.headers) res.set(e.headers);
  if (e.retryAfterS !== undefined) res.set('retry-after', String(Math.max(1, Math.ceil(e.retryAfterS))));
  res.status(e.status).json({ error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } });
}

export function badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
  return { status: 400, message, type: 'invalid_request_error', param, code };
}

/**
 * No llm worker is online at all: OpenAI's 404 `model_not_found` (what clients
 * handle), in words a user understands, never internal terms such as "kind".
 */
export function noModelAvailable(model: string, kind: 'llm' | 'embed' = 'llm'): ApiError {
  const what = kind === 'embed' ? 'embedding models' : 'language models';
  return {
    status: 404,
    message: `The model '${model}' is not available right now: no worker serving ${what} is online. Try again later.`,
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
  };
}

/** Every provider serving the model cools down after repeated failures: 503 with Retry-After. */
export function coolingDown(model: string, remainingMs: number): ApiError {
  const s = Math.max(1, Math.ceil(remainingMs / 1000));
  return {
    status: 503,
    message: `The model '${model}' is temporarily unavailable: its providers failed repeatedly and are paused. Try again in ${s} s.`,
    type: 'server_error',
    param: 'model',
    code: 'model_unavailable',
    retryAfterS: s,
  };
}

export function modelNotFound(model: string): ApiError {
  return {
    status: 404,
    message: `The model '${model}' does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
  };
}

/** The OpenAI-style error for a submit the master refused (anything but bad input). */
export function submitError(err: unknown, model: string, kind: 'llm' | 'embed' = 'llm'): ApiError | undefined {
  // A key's allow-list of kinds / models (master/tenancy): OpenAI's permission error.
  if (err instanceof TaskwireError && err.code === 'FORBIDDEN') return { status: 403, message: err.message, type: 'permission_error', code: 'model_not_allowed' };
  if (err instanceof ValidationError) {
    // The kind is the gateway's choice, not the client's: "no worker serves kind llm" is an outage.
    if (err.field === 'kind') return noModelAvailable(model, kind);
    return badRequest(err.message, err.field.replace(/^input\.?/, '') || null);
  }
  if (err instanceof PayloadTooLargeError) return { status: 413, message: err.message.replace(/^input /, 'the request '), type: 'invalid_request_error', code: 'request_too_large' };
  if (err instanceof ResourceExhaustedError) {
    // A hard budget is OpenAI's `insufficient_quota` (master/billing/budgets.ts); a limit is `rate_limit_exceeded`.
    const quota = (err as { openaiCode?: unknown }).openaiCode === 'insufficient_quota';
    return { status: 429, message: err.message, type: quota ? 'insufficient_quota' : 'rate_limit_error', code: quota ? 'insufficient_quota' : 'rate_limit_exceeded', retryAfterS: err.retryAfterS, headers: err.headers };
  }
  return undefined;
}

/** The OpenAI-style error for a task that did not succeed. */
export function taskError(t: TaskView, ownKey: boolean): ApiError {
  const message = t.error?.message ?? `task ${t.status}`;
  switch (t.error?.code) {
    case 'BAD_INPUT':
      return badRequest(message, PARAM_PREFIX.exec(message)?.[1] ?? null);
    case 'MODEL_NOT_FOUND':
      return { status: 404, message, type: 'invalid_request_error', code: 'model_not_found' };
    case 'SAFETY_BLOCKED':
      return { status: 400, message, type: 'invalid_request_error', code: 'content_filter' };
    case 'PROVIDER_AUTH':
      return ownKey
        ? { status: 401, message, type: 'invalid_request_error', code: 'invalid_api_key' }
        : { status: 502, message, type: 'server_error', code: 'provider_auth' };
    case 'PROVIDER_RATE_LIMIT':
      return { status: 429, message, type: 'rate_limit_error', code: 'rate_limit_exceeded' };
    case 'PROVIDER_UNAVAILABLE':
      return { status: 503, message, type: 'server_error', code: 'provider_unavailable' };
    case 'PROVIDER_ERROR':
      return { status: 502, message, type: 'server_error', code: 'provider_error' };
    case 'DEADLINE_EXCEEDED':
      return { status: 504, message, type: 'timeout', code: 'deadline_exceeded' };
    default:
      if (t.status === 'expired') return { status: 504, message, type: 'timeout', code: 'deadline_exceeded' };
      return { status: 500, message, type: 'server_error', code: (t.error?.code ?? t.status).toLowerCase() };
  }
}
