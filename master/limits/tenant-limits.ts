/**
 * A tenant admin's own limits (PUT /api/v1/admin/tenants/:tenant/limits): rules
 * for its tenant and its tenant's keys, kept apart from the cluster admin's
 * (tenant-settings.ts) and enforced in addition to them on counters of their
 * own (limit-plan.ts `layer`), so a tenant admin can only narrow what the
 * cluster admin allows:
 *
 *   { "rules": [ { "scope": "key", "requests_per_minute": 30 },
 *                { "scope": "key", "id": "key-3f2a9c01d4e5", "concurrent_tasks": 4 },
 *                { "scope": "tenant", "tokens_per_day": 500000 } ] }
 *
 * A tenant rule is the tenant's own (`id` left out or the tenant); a key rule
 * names one of the tenant's keys or, without `id`, applies to each of them (a
 * rule naming a key replaces those, as in the cluster rules). No value may be
 * above a cap the cluster admin set for the tenant (its tenant rules, named
 * or for each tenant) or, for a key rule, for the key: a 400 names the field.
 */
import { z } from 'zod';
import { ValidationError } from '../../common/errors.js';
import { applicable } from './limit-plan.js';
import { LIMIT_FIELDS, type LimitField, type LimitRule, limitRule } from './limit-rules.js';

export const tenantLimitsBody = z.object({ rules: z.array(limitRule).max(200) }).strict();
export type TenantLimits = z.infer<typeof tenantLimitsBody>;

const RATE_FIELDS: readonly LimitField[] = ['requests_per_minute', 'tokens_per_minute'];
/** Matches no named rule: the id-less rules of a scope. */
const EACH = '\u0000each';

/** The cluster admin's rules that cap `rule` of `tenant`'s admin. */
export function limitCaps(cluster: readonly LimitRule[], tenant: string, rule: LimitRule): LimitRule[] {
  const caps = applicable(cluster, 'tenant', tenant, rule.model);
  if (rule.scope === 'key') caps.push(...applicable(cluster, 'key', rule.id ?? EACH, rule.model));
  return caps;
}

/** Every cluster rule that concerns `tenant` or one of its keys (what its admin is shown as caps). */
export function capsOf(cluster: readonly LimitRule[], tenant: string, ownsKey: (id: string) => boolean): LimitRule[] {
  return cluster.filter((r) => r.id === undefined || (r.scope === 'tenant' ? r.id === tenant : ownsKey(r.id)));
}

/** The tenant admin's rules checked and normalised (a tenant rule gets the tenant's id), or a 400 naming the field. */
export function checkTenantLimits(tenant: string, body: TenantLimits, cluster: readonly LimitRule[], ownsKey: (id: string) => boolean): TenantLimits {
  const rules = body.rules.map((r, i): LimitRule => {
    if (r.scope === 'tenant') {
      if (r.id !== undefined && r.id !== tenant) throw new ValidationError(`rules.${i}.id`, `a tenant rule here is tenant ${tenant}'s (leave id out)`);
      return { ...r, id: tenant };
    }
    if (r.id !== undefined && !ownsKey(r.id)) throw new ValidationError(`rules.${i}.id`, `no key ${r.id} in tenant ${tenant}`);
    return r;
  });
  rules.forEach((r, i) => {
    for (const cap of limitCaps(cluster, tenant, r)) {
      for (const f of LIMIT_FIELDS) {
        const v = r[f];
        const c = cap[f];
        if (v === undefined || c === undefined) continue;
        const rate = RATE_FIELDS.includes(f);
        const [w, cw] = [r.window_s ?? 60, cap.window_s ?? 60];
        if (v > c || (rate && v / w > c / cw)) {
          const who = `${cap.scope} ${cap.id ?? (cap.scope === 'tenant' ? '(each tenant)' : '(each key)')}${cap.model === undefined ? '' : ` model ${cap.model}`}`;
          throw new ValidationError(`rules.${i}.${f}`, `${v}${rate ? ` per ${w} s` : ''} is above the cap of ${c}${rate ? ` per ${cw} s` : ''} the cluster admin set for ${who}`);
        }
      }
    }
  });
  return { rules };
}
