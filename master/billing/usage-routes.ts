/**
 * Usage and billing over REST (mounted under /api/v1, behind the principal):
 *   GET /usage?period=day|month&at=2026-12[-02]&tenant=&format=json|csv
 *       a report (usage-report.ts); a user key sees its own tenant only
 *   GET /admin/prices, PUT /admin/prices      the price table (a PUT appends a version)
 *   GET /admin/budgets, PUT /admin/budgets    the budgets
 * The admin routes need the admin role.
 */
import { Router } from 'express';
import { z } from 'zod';
import { TaskwireError } from '../../common/errors.js';
import { principalOf } from '../http/auth/http-auth.js';
import { DEFAULT_TENANT, seesAll } from '../http/auth/principal.js';
import { sendError } from '../http/http-errors.js';
import { parseBody } from '../http/rest-api.js';
import { requireAdmin } from '../limits/limit-routes.js';
import { type AdminAudit, NO_AUDIT } from '../tenancy/admin-audit.js';
import type { Billing } from './open-billing.js';
import { budgetsConfig } from './budgets.js';
import { priceTableBody } from './price-table.js';
import { reportCsv, usageReport } from './usage-report.js';

export const reportQuery = z
  .object({
    tenant: z.string().min(1).max(200).optional(),
    period: z.enum(['day', 'month']).default('month'),
    at: z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'YYYY-MM or YYYY-MM-DD').optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict()
  .refine((q) => q.at === undefined || (q.period === 'day') === (q.at.length === 10), { message: 'at is YYYY-MM for a month, YYYY-MM-DD for a day', path: ['at'] });

/** `audit`: every change of prices and budgets recorded (tenancy/admin-audit.ts). */
export function usageRoutes(billing: Billing, now: () => number, audit: AdminAudit = NO_AUDIT): Router {
  const r = Router();
  r.get('/usage', async (req, res) => {
    try {
      const q = parseBody(reportQuery, { ...req.query });
      const p = principalOf(res);
      if (!seesAll(p) && q.tenant !== undefined && q.tenant !== p.tenant) throw new TaskwireError('FORBIDDEN', 'tenant: a user key sees its own tenant only');
      const tenant = seesAll(p) ? q.tenant : p.tenant;
      const report = await usageReport(billing.store, { tenant, period: q.period, at: q.at, currency: billing.prices.latest?.currency ?? 'USD' }, now());
      if (q.format === 'csv') {
        res.type('text/csv').set('Content-Disposition', `attachment; filename="usage-${tenant ?? 'all'}-${report.label}.csv"`).send(reportCsv(report));
      } else res.json(report);
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/admin/prices', (_req, res) => {
    try {
      requireAdmin(principalOf(res));
      res.json({ versions: billing.prices.all(), in_force: billing.prices.at(now())?.version ?? null });
    } catch (err) {
      sendError(res, err);
    }
  });
  r.put('/admin/prices', async (req, res) => {
    try {
      const p = principalOf(res);
      requireAdmin(p);
      const before = billing.prices.latest ?? null;
      const v = await billing.addPrices(parseBody(priceTableBody, req.body));
      audit(p, 'prices', DEFAULT_TENANT, before, v);
      res.json(v);
    } catch (err) {
      sendError(res, err);
    }
  });
  r.get('/admin/budgets', (_req, res) => {
    try {
      requireAdmin(principalOf(res));
      res.json(billing.budgets.budgets);
    } catch (err) {
      sendError(res, err);
    }
  });
  r.put('/admin/budgets', async (req, res) => {
    try {
      const p = principalOf(res);
      requireAdmin(p);
      const before = billing.budgets.budgets;
      const after = await billing.setBudgets(parseBody(budgetsConfig, req.body));
      audit(p, 'budgets', DEFAULT_TENANT, before, after);
      res.json(after);
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}
