/**
 * Mapping provider HTTP outcomes onto TaskFailure codes, in one place:
 *   401/403 -> PROVIDER_AUTH (no retry)      429 -> PROVIDER_RATE_LIMIT (retry)
 *   5xx, 408, network -> PROVIDER_UNAVAILABLE (retry)
 *   400/413/422 -> BAD_INPUT                 404 -> MODEL_NOT_FOUND
 *   an error object inside a stream -> PROVIDER_ERROR (retry only if it says 5xx)
 * Quirks: Gemini answers a bad key with 400 + `reason: API_KEY_INVALID`
 * (-> PROVIDER_AUTH); OpenAI answers an exhausted quota with 429 +
 * `insufficient_quota` (-> PROVIDER_RATE_LIMIT without retry: waiting won't help).
 * Messages are bounded and never contain the API key in use.
 */
import { z } from 'zod';
import { TaskFailure } from '../task-handler.js';

export const MAX_ERROR_MESSAGE_CHARS = 500;
const MAX_ERROR_BODY_CHARS = 64 * 1024;

/** `{error: {...}}` as OpenAI, vLLM, Ollama and Gemini send it (all fields optional). */
const errorBody = z.object({
  error: z.union([
    z.string(),
    z
      .object({
        message: z.string().optional(),
        type: z.string().nullish(),
        status: z.string().optional(),
        code: z.union([z.string(), z.number()]).nullish(),
        details: z.array(z.unknown()).optional(),
      })
      .passthrough(),
  ]),
});
export type ProviderErrorObject = Exclude<z.infer<typeof errorBody>['error'], string>;

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_ERROR_MESSAGE_CHARS ? `${oneLine.slice(0, MAX_ERROR_MESSAGE_CHARS)}…` : oneLine;
}

/** Removes every occurrence of `secret` from `text`. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[redacted]');
}

/** Parses `{error: ...}` out of a body, or returns undefined. */
export function parseErrorObject(value: unknown): ProviderErrorObject | undefined {
  const parsed = errorBody.safeParse(value);
  if (!parsed.success) return undefined;
  const e = parsed.data.error;
  return typeof e === 'string' ? { message: e } : e;
}

function hasReason(details: unknown[] | undefined, reason: string): boolean {
  return (details ?? []).some(
    (d) => typeof d === 'object' && d !== null && (d as Record<string, unknown>)['reason'] === reason,
  );
}

/** Reads at most 64 KiB of an error response body. */
export async function readErrorText(res: Response): Promise<string> {
  try {
    const text = await res.text();
    return text.slice(0, MAX_ERROR_BODY_CHARS);
  } catch {
    return '';
  }
}

export function httpFailure(provider: string, status: number, bodyText: string, secret: string | undefined): TaskFailure {
  let obj: ProviderErrorObject | undefined;
  try {
    obj = parseErrorObject(JSON.parse(bodyText));
  } catch {
    obj = undefined;
  }
  const detail = clip(redact(obj?.message ?? bodyText, secret)) || 'no details';
  const message = `${provider}: HTTP ${status}: ${detail}`;
  if (status === 401 || status === 403 || (status === 400 && hasReason(obj?.details, 'API_KEY_INVALID'))) {
    return new TaskFailure('PROVIDER_AUTH', message, { retryable: false });
  }
  if (status === 429) {
    const quota = obj?.code === 'insufficient_quota' || obj?.type === 'insufficient_quota';
    return new TaskFailure('PROVIDER_RATE_LIMIT', message, { retryable: !quota });
  }
  if (status === 404) return new TaskFailure('MODEL_NOT_FOUND', message, { retryable: false });
  if (status === 400 || status === 413 || status === 422) return new TaskFailure('BAD_INPUT', message, { retryable: false });
  if (status >= 500 || status === 408) return new TaskFailure('PROVIDER_UNAVAILABLE', message, { retryable: true });
  return new TaskFailure('PROVIDER_ERROR', message, { retryable: false });
}

/** An `{error: ...}` object received inside a 200 stream (vLLM, Gemini). */
export function streamErrorFailure(provider: string, obj: ProviderErrorObject, secret: string | undefined): TaskFailure {
  const code = typeof obj.code === 'number' ? obj.code : Number.parseInt(String(obj.code ?? ''), 10);
  const retryable = Number.isFinite(code) ? code >= 500 || code === 429 : false;
  const detail = clip(redact(obj.message ?? obj.status ?? 'unknown error', secret));
  return new TaskFailure('PROVIDER_ERROR', `${provider}: error in stream: ${detail}`, { retryable });
}

/** The failure to report when the task's signal fired. */
export function abortFailure(signal: AbortSignal): TaskFailure {
  const reason: unknown = signal.reason;
  if (reason instanceof TaskFailure) return reason;
  return new TaskFailure('CANCELLED', 'cancelled', { retryable: false });
}

/** Classifies an error thrown by fetch or while reading a body. */
export function transportFailure(provider: string, err: unknown, signal: AbortSignal, secret: string | undefined): TaskFailure {
  if (err instanceof TaskFailure) return err;
  if (signal.aborted) return abortFailure(signal);
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const what = err instanceof Error ? `${err.message}${cause}` : String(err);
  return new TaskFailure('PROVIDER_UNAVAILABLE', `${provider}: ${clip(redact(what, secret))}`, { retryable: true, cause: err });
}
