/**
 * Express side of the principal: one middleware, mounted first, resolves the
 * caller and keeps it in `res.locals.principal`; a protected route without a
 * valid key is refused with 401 in the shape of its surface:
 *   /v1/*  OpenAI:  {"error": {"message", "type": "invalid_request_error", "code": "invalid_api_key"}}
 *   /v2*   KServe:  {"error": "<message>"}
 *   else   taskwire: {"error": {"code": "UNAUTHENTICATED", "message"}}
 */
import type { RequestHandler, Response } from 'express';
import { TaskwireError } from '../../../common/errors.js';
import { isProtectedPath } from './open-routes.js';
import { ANONYMOUS_PRINCIPAL, hasScope, LOCAL_PRINCIPAL, type Authenticator, type Principal, type Scope } from './principal.js';

const MESSAGE = 'missing or invalid API key (Authorization: Bearer <key>)';

export function refuseUnauthenticated(path: string, res: Response): void {
  res.status(401).set('WWW-Authenticate', 'Bearer');
  if (path.startsWith('/v1/')) res.json({ error: { message: 'Incorrect or missing API key.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
  else if (path.startsWith('/v2')) res.json({ error: MESSAGE });
  else res.json({ error: { code: 'UNAUTHENTICATED', message: MESSAGE } });
}

export function authenticateHttp(auth: Authenticator, openRoutes: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    const principal = auth.fromAuthorization(req.get('authorization'));
    if (principal) {
      res.locals['principal'] = principal;
      return next();
    }
    if (isProtectedPath(req.path, openRoutes)) return refuseUnauthenticated(req.path, res);
    res.locals['principal'] = ANONYMOUS_PRINCIPAL; // an open route: never more than the least role
    next();
  };
}

/** The caller of a request (set by authenticateHttp; local when it did not run, e.g. a router mounted alone in a test). */
export function principalOf(res: Response): Principal {
  return (res.locals['principal'] as Principal | undefined) ?? LOCAL_PRINCIPAL;
}

/** Throws 403 unless the caller has the operate scope (operator/admin); what it then sees is its tenant, or all for a cluster operator. */
export function requireOperator(p: Principal): void {
  if (!hasScope(p, 'operate')) throw new TaskwireError('FORBIDDEN', 'needs an operator or admin key');
}

/** Throws 403 unless the caller has `scope`. */
export function requireScope(p: Principal, scope: Scope): void {
  if (!hasScope(p, scope)) throw new TaskwireError('FORBIDDEN', `needs a key with the ${scope} scope`);
}
