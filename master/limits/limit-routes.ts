/**
 * The admin's limits (mounted under /api/v1, behind the principal):
 *   GET /admin/limits   the rules in force
 *   PUT /admin/limits   replaces them ({rules: [...]}, limit-rules.ts); 400 names the field;
 *                       kept in the data dir (limits.json), in force until DELETE
 *   DELETE /admin/limits back to TASKWIRE_RATE_LIMITS
 * All need a cluster admin: the admin role in tenant `default` (403 otherwise).
 */
import { Router } from 'express';
import { TaskwireError } from '../../common/errors.js';
import { principalOf } from '../http/auth/http-auth.js';
import { sendError } from '../http/http-errors.js';
import { parseBody } from '../http/rest-api.js';
import { DEFAULT_TENANT, type Principal } from '../http/auth/principal.js';
import type { AdmissionLimiter } from './admission-limiter.js';
import { limitsConfig } from './limit-rules.js';
import { type AdminAudit, NO_AUDIT } from '../tenancy/admin-audit.js';

/**
 * The cluster-wide settings (limits, prices, budgets) are a cluster admin's:
 * an admin key of tenant `default`. A tenant's admin key manages its own
 * tenant's users and keys (tenancy/admin-routes.ts), never what every tenant
 * is limited by or pays.
 */
export function requireAdmin(p: Principal): void {
  if (p.role !== 'admin') throw new TaskwireError('FORBIDDEN', 'needs an admin key');
  if (p.tenant !== DEFAULT_TENANT) throw new TaskwireError('FORBIDDEN', `a cluster-wide setting: needs an admin key of tenant ${DEFAULT_TENANT} (this key is tenant ${p.tenant}'s)`);
}

/** `audit`: every change recorded (tenancy/admin-audit.ts). */
export function limitRoutes(limiter: AdmissionLimiter, audit: AdminAudit = NO_AUDIT): Router {
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
      const p = principalOf(res);
      requireAdmin(p);
      const before = limiter.limits;
      limiter.setLimits(parseBody(limitsConfig, req.body));
      audit(p, 'limits', DEFAULT_TENANT, before, limiter.limits);
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.delete('/admin/limits', (_req, res) => {
    try {
      const p = principalOf(res);
      requireAdmin(p);
      const before = limiter.limits;
      limiter.resetLimits();
      audit(p, 'limits', DEFAULT_TENANT, before, limiter.limits);
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
