/**
 * Deadlines on the OpenAI-compatible gateway. The OpenAI API has no deadline
 * field, so a client names one in a header: `X-Taskwire-Deadline-Ms: 5000`
 * (the task must start within 5 s). The gateway sends nothing new back: a
 * request that cannot start in time is refused at once (429
 * `deadline_unreachable`, 503 when no worker serves it), and an admitted one
 * that is still queued at its deadline ends 504 `deadline_exceeded` (the task
 * expires), the same admission as REST's `deadline_ms` (docs/RELIABILITY.md).
 */
import { DeadlineUnreachableError } from '../../common/errors.js';
import type { ApiError } from './openai-errors.js';

export const DEADLINE_HEADER = 'x-taskwire-deadline-ms';
const MAX_DEADLINE_MS = 30 * 24 * 3600 * 1000;

/** The header's deadline: undefined when absent, an ApiError (400 naming the header) when malformed. */
export function gatewayDeadline(value: string | undefined): { deadlineMs?: number } | ApiError {
  if (value === undefined || value.trim() === '') return {};
  const v = value.trim();
  if (!/^\d{1,10}$/.test(v) || Number(v) < 1 || Number(v) > MAX_DEADLINE_MS) {
    return { status: 400, message: `${DEADLINE_HEADER}: a whole number of milliseconds from 1 to ${MAX_DEADLINE_MS}`, type: 'invalid_request_error', param: DEADLINE_HEADER, code: 'invalid_value' };
  }
  return { deadlineMs: Number(v) };
}

/** A deadline refusal as an OpenAI-style error (undefined for any other error). */
export function deadlineError(err: unknown): ApiError | undefined {
  if (!(err instanceof DeadlineUnreachableError)) return undefined;
  return err.noCapacity
    ? { status: 503, message: err.message, type: 'server_error', code: 'deadline_unreachable' }
    : { status: 429, message: err.message, type: 'rate_limit_error', code: 'deadline_unreachable', retryAfterS: Math.max(1, Math.ceil(err.estimatedWaitMs / 1000)) };
}
