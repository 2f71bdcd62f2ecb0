/**
 * Refuses a REST submit whose body cannot fit the caller's payload budget
 * (core/payload-budget.ts) before the body is read: mounted ahead of the JSON
 * body parser, it compares `Content-Length` with what the caller may still
 * submit. Under a flood of large submits, a refused request then costs no
 * parse, no copy of its input and no garbage: without it each 429 first
 * parsed its whole body (a flood's refused bodies were most of what the
 * master allocated), and the other callers' requests waited behind them.
 *
 * The body is an upper bound of the input the budget counts (the input as
 * JSON, re-serialized), so a request is refused here only when its body is
 * larger than what is left plus `slackBytes` (the other fields of a submit);
 * the exact check still follows at admission. The request's unread body is
 * discarded by Node (read off the socket and dropped, never buffered), so a
 * kept-alive connection stays usable.
 */
import { Router } from 'express';
import type { PayloadBudget } from '../core/payload-budget.js';
import { principalOf } from './auth/http-auth.js';
import { sendError } from './http-errors.js';

export interface SubmitBodyGuardOptions {
  /** Body bytes allowed beyond the budget left: the fields of a submit besides its input (default 64 KiB). */
  slackBytes?: number;
}

export const SUBMIT_BODY_GUARD_DEFAULTS = { slackBytes: 64 * 1024 } as const;

export function submitBodyGuard(budget: Pick<PayloadBudget, 'checkDeclared'>, options: SubmitBodyGuardOptions = {}): Router {
  const slack = options.slackBytes ?? SUBMIT_BODY_GUARD_DEFAULTS.slackBytes;
  const r = Router();
  r.post(['/tasks', '/tasks/batch'], (req, res, next) => {
    const declared = Number(req.get('content-length') ?? NaN);
    if (!Number.isFinite(declared)) return next(); // chunked: the parser's size limit and admission's check apply
    try {
      budget.checkDeclared(principalOf(res).id, declared, slack);
    } catch (err) {
      return sendError(res, err);
    }
    next();
  });
  return r;
}
