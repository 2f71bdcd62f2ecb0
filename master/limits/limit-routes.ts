/**
 * The admin's limits (mounted under /api/v1, behind the principal):
 *   GET /admin/limits   the rules in force
 *   PUT /admin/limits   replaces them ({rules: [...]}, limit-rules.ts); 400 names the field;
 *                       kept in the data dir (limits.json), in force until DELETE
 *   DELETE /admin/limits back to TASKWIRE_RATE_LIMITS
 * Both need the admin role (403 otherwise).
 */
import { Router } from 'express';
import { TaskwireError } from '../../common/errors.js';
import { principalOf } from '../http/auth/http-auth.js';
import { sendError } from '../http/http-errors.js';
import { parseBody } from '../http/rest-api.js';
import type { Principal } from '../http/auth/principal.js';
import type { AdmissionLimiter } from './admission-limiter.js';
import { limitsConfig } from './limit-rules.js';

export function requireAdmin(p: Principal): void {
  if (p.role !== 'admin') throw new TaskwireError('FORBIDDEN', 'needs an admin key');
}

export function limitRoutes(limiter: AdmissionLimiter): Router {
  const r = Router();
  r.get('/admin/limits', (_req, res) => {
    try {
      requireAdmin(principalOf(res));
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.put('/admin/limits', (req, res) => {
    try {
      requireAdmin(principalOf(res));
      limiter.setLimits(parseBody(limitsConfig, req.body));
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.delete('/admin/limits', (_req, res) => {
    try {
      requireAdmin(principalOf(res));
      limiter.resetLimits();
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
