/**
 * A tenant's own budgets (tenant-budgets.ts) over REST, for its admin or a
 * cluster admin (mounted under /api/v1, behind the principal):
 *   GET /admin/tenants/:tenant/budgets   {tenant, budgets, caps}: its admin's budgets and the cluster budgets that cap them
 *   PUT /admin/tenants/:tenant/budgets   replaces its admin's budgets ({budgets: [...]}); 400 names a field above a cap
 * Another tenant's admin gets 404, a key without the admin scope 403; every
 * change is audited (tenancy/admin-audit.ts) for the tenant concerned.
 */
import { type Request, Router } from 'express';
import { principalOf } from '../http/auth/http-auth.js';
import { sendError } from '../http/http-errors.js';
import { parseBody } from '../http/rest-api.js';
import { type TenantDirectory, tenantAdmin } from '../limits/limit-routes.js';
import { type AdminAudit, NO_AUDIT } from '../tenancy/admin-audit.js';
import { tenantBudgetsBody } from './budgets.js';
import type { Billing } from './open-billing.js';
import { budgetCapsOf, checkTenantBudgets } from './tenant-budgets.js';

export function tenantBudgetRoutes(billing: Billing, audit: AdminAudit = NO_AUDIT, dir?: TenantDirectory): Router {
  const r = Router();
  const view = (t: { tenant: string; ownsKey: (id: string) => boolean }) => ({
    tenant: t.tenant,
    ...billing.budgets.tenantBudgetsOf(t.tenant),
    caps: budgetCapsOf(billing.budgets.budgets.budgets, t.tenant, t.ownsKey),
  });
  r.get('/admin/tenants/:tenant/budgets', (req: Request<{ tenant: string }>, res) => {
    try {
      res.json(view(tenantAdmin(principalOf(res), req.params.tenant, dir)));
    } catch (err) {
      sendError(res, err);
    }
  });
  r.put('/admin/tenants/:tenant/budgets', async (req: Request<{ tenant: string }>, res) => {
    try {
      const p = principalOf(res);
      const t = tenantAdmin(p, req.params.tenant, dir);
      const next = checkTenantBudgets(t.tenant, parseBody(tenantBudgetsBody, req.body), billing.budgets.budgets.budgets, t.ownsKey);
      const before = billing.budgets.tenantBudgetsOf(t.tenant);
      await billing.budgets.setTenantBudgets(t.tenant, next);
      audit(p, 'budgets', t.tenant, before, next);
      res.json(view(t));
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
