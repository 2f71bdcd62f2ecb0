/**
 * The admin's limits (mounted under /api/v1, behind the principal):
 *   GET /admin/limits   the rules in force
 *   PUT /admin/limits   replaces them ({rules: [...]}, limit-rules.ts); 400 names the field;
 *                       kept in the data dir (limits.json), in force until DELETE
 *   DELETE /admin/limits back to TASKWIRE_RATE_LIMITS
 * All need a cluster admin: the admin role in tenant `default` (403 otherwise).
 *
 * A tenant's own limits (tenant-limits.ts), for its admin or a cluster admin:
 *   GET    /admin/tenants/:tenant/limits   {tenant, rules, caps}: its admin's rules and the cluster rules that cap them
 *   PUT    /admin/tenants/:tenant/limits   replaces its admin's rules ({rules: [...]}); 400 names a field above a cap
 *   DELETE /admin/tenants/:tenant/limits   removes them
 * Another tenant's admin gets 404 (as for its keys), a key without the admin scope 403.
 */
import { type Request, Router } from 'express';
import { NotFoundError, TaskwireError } from '../../common/errors.js';
import { principalOf, requireScope } from '../http/auth/http-auth.js';
import { sendError } from '../http/http-errors.js';
import { parseBody } from '../http/rest-api.js';
import { DEFAULT_TENANT, type Principal } from '../http/auth/principal.js';
import type { AdmissionLimiter } from './admission-limiter.js';
import { limitsConfig } from './limit-rules.js';
import { capsOf, checkTenantLimits, tenantLimitsBody } from './tenant-limits.js';
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

/** The tenants and keys the tenant routes check against (tenancy/key-store.ts). */
export interface TenantDirectory {
  tenant(id: string): unknown;
  key(id: string): { tenant: string } | undefined;
}

/**
 * The tenant a tenant-scoped admin route acts on: an admin key of that tenant,
 * or a cluster admin; another tenant's admin gets 404 (the tenant is not
 * revealed), a key without the admin scope 403.
 */
export function tenantAdmin(p: Principal, tenant: string, dir: TenantDirectory | undefined): { tenant: string; ownsKey: (id: string) => boolean } {
  requireScope(p, 'admin');
  const known = tenant === DEFAULT_TENANT || dir === undefined || dir.tenant(tenant) !== undefined;
  if (!known || (p.tenant !== DEFAULT_TENANT && p.tenant !== tenant)) throw new NotFoundError(`no tenant ${tenant}`);
  return { tenant, ownsKey: (id) => (dir ? dir.key(id)?.tenant === tenant : tenant === DEFAULT_TENANT) };
}

/** `audit`: every change recorded (tenancy/admin-audit.ts); `dir`: the tenants and keys (the tenant routes' checks). */
export function limitRoutes(limiter: AdmissionLimiter, audit: AdminAudit = NO_AUDIT, dir?: TenantDirectory): Router {
  const r = Router();
  const tenantView = (t: { tenant: string; ownsKey: (id: string) => boolean }) => ({ tenant: t.tenant, ...limiter.tenantLimits(t.tenant), caps: capsOf(limiter.limits.rules, t.tenant, t.ownsKey) });
  r.get('/admin/tenants/:tenant/limits', (req: Request<{ tenant: string }>, res) => {
    try {
      res.json(tenantView(tenantAdmin(principalOf(res), req.params.tenant, dir)));
    } catch (err) {
      sendError(res, err);
    }
  });
  r.put('/admin/tenants/:tenant/limits', async (req: Request<{ tenant: string }>, res) => {
    try {
      const p = principalOf(res);
      const t = tenantAdmin(p, req.params.tenant, dir);
      const next = checkTenantLimits(t.tenant, parseBody(tenantLimitsBody, req.body), limiter.limits.rules, t.ownsKey);
      const before = limiter.tenantLimits(t.tenant);
      await limiter.setTenantLimits(t.tenant, next);
      audit(p, 'limits', t.tenant, before, next);
      res.json(tenantView(t));
    } catch (err) {
      sendError(res, err);
    }
  });
  r.delete('/admin/tenants/:tenant/limits', async (req: Request<{ tenant: string }>, res) => {
    try {
      const p = principalOf(res);
      const t = tenantAdmin(p, req.params.tenant, dir);
      const before = limiter.tenantLimits(t.tenant);
      await limiter.setTenantLimits(t.tenant, { rules: [] });
      audit(p, 'limits', t.tenant, before, { rules: [] });
      res.json(tenantView(t));
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/admin/limits', (_req, res) => {
    try {
      requireAdmin(principalOf(res));
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.put('/admin/limits', async (req, res) => {
    try {
      const p = principalOf(res);
      requireAdmin(p);
      const before = limiter.limits;
      await limiter.setLimits(parseBody(limitsConfig, req.body));
      audit(p, 'limits', DEFAULT_TENANT, before, limiter.limits);
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.delete('/admin/limits', async (_req, res) => {
    try {
      const p = principalOf(res);
      requireAdmin(p);
      const before = limiter.limits;
      await limiter.resetLimits();
      audit(p, 'limits', DEFAULT_TENANT, before, limiter.limits);
      res.json({ ...limiter.limits, source: limiter.source });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
