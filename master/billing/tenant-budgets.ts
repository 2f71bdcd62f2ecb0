/**
 * A tenant admin's own budgets (PUT /api/v1/admin/tenants/:tenant/budgets):
 * for its tenant and its tenant's keys, kept apart from the cluster admin's
 * (limits/tenant-settings.ts) and enforced in addition to them, so a tenant
 * admin can only narrow what the cluster admin allows:
 *
 *   { "budgets": [ { "scope": "key", "period": "day", "soft": 2, "hard": 3 },
 *                  { "scope": "key", "id": "key-3f2a9c01d4e5", "period": "month", "hard": 40 },
 *                  { "scope": "tenant", "period": "month", "soft": 500 } ] }
 *
 * A tenant budget is the tenant's own (`id` left out or the tenant); a key
 * budget names one of the tenant's keys or, without `id`, applies to each of
 * them. Neither `soft` nor `hard` may be above a hard budget the cluster admin
 * set for the tenant (or, for a key budget, for that key) of the same period,
 * or of the month for a day budget: a 400 names the field.
 */
import { ValidationError } from '../../common/errors.js';
import { type BudgetRule, type TenantBudgets, budgetsFor } from './budgets.js';

/** Matches no named budget: the id-less budgets of a scope. */
const EACH = '\u0000each';

/** Every cluster budget that concerns `tenant` or one of its keys (what its admin is shown as caps). */
export function budgetCapsOf(cluster: readonly BudgetRule[], tenant: string, ownsKey: (id: string) => boolean): BudgetRule[] {
  return cluster.filter((b) => b.id === undefined || (b.scope === 'tenant' ? b.id === tenant : ownsKey(b.id)));
}

/** The tenant admin's budgets checked and normalised (a tenant budget gets the tenant's id), or a 400 naming the field. */
export function checkTenantBudgets(tenant: string, body: TenantBudgets, cluster: readonly BudgetRule[], ownsKey: (id: string) => boolean): TenantBudgets {
  const budgets = body.budgets.map((b, i): BudgetRule => {
    if (b.scope === 'tenant') {
      if (b.id !== undefined && b.id !== tenant) throw new ValidationError(`budgets.${i}.id`, `a tenant budget here is tenant ${tenant}'s (leave id out)`);
      return { ...b, id: tenant };
    }
    if (b.id !== undefined && !ownsKey(b.id)) throw new ValidationError(`budgets.${i}.id`, `no key ${b.id} in tenant ${tenant}`);
    return b;
  });
  budgets.forEach((b, i) => {
    const caps = budgetsFor(cluster, 'tenant', tenant);
    if (b.scope === 'key') caps.push(...budgetsFor(cluster, 'key', b.id ?? EACH));
    for (const cap of caps) {
      if (cap.hard === undefined || (cap.period !== b.period && !(b.period === 'day' && cap.period === 'month'))) continue;
      for (const f of ['hard', 'soft'] as const) {
        const v = b[f];
        if (v !== undefined && v > cap.hard) {
          const who = `${cap.scope} ${cap.id ?? (cap.scope === 'tenant' ? '(each tenant)' : '(each key)')}`;
          throw new ValidationError(`budgets.${i}.${f}`, `${v} is above the hard budget of ${cap.hard} per ${cap.period} the cluster admin set for ${who}`);
        }
      }
    }
  });
  return { budgets };
}
