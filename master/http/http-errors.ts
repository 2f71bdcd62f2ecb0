/** Maps taskwire errors to HTTP responses `{error: {code, message, field?}}` (the only place that does). */
import type { ErrorRequestHandler, Response } from 'express';
import { DeadlineUnreachableError, ResourceExhaustedError, TaskwireError, ValidationError, errorMessage } from '../../common/errors.js';

const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  PROTOCOL: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  CLOSED: 503,
  DEADLINE_UNREACHABLE: 429,
};

export function sendError(res: Response, err: unknown): void {
  if (err instanceof TaskwireError) {
    const body: { code: string; message: string; field?: string } = { code: err.code, message: err.message };
    if (err instanceof ValidationError) body.field = err.field;
    if (err instanceof ResourceExhaustedError) res.set({ ...err.headers, 'Retry-After': String(err.retryAfterS) });
    const status = err instanceof DeadlineUnreachableError && err.noCapacity ? 503 : (STATUS[err.code] ?? 500);
    res.status(status).json({ error: body });
    return;
  }
  res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error' } });
}

/** Body-parser and other middleware errors (bad JSON, too large). */
export const errorMiddleware: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
  const e = err as { type?: string; status?: number; limit?: number };
  if (e.type === 'entity.too.large') {
    res.status(413).json({ error: { code: 'PAYLOAD_TOO_LARGE', message: `request body over ${e.limit} bytes` } });
  } else if (e.type === 'entity.parse.failed') {
    res.status(400).json({ error: { code: 'BAD_REQUEST', message: `body is not valid JSON: ${errorMessage(err)}` } });
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json({ error: { code: 'BAD_REQUEST', message: errorMessage(err) } });
  } else {
    sendError(res, err);
  }
};
