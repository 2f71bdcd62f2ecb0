/** A tenant admin's rules and budgets against the cluster admin's caps (pure checks: tenant-limits.ts, tenant-budgets.ts). */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../common/errors.js';
import { checkTenantLimits } from '../../master/limits/tenant-limits.js';
import { checkTenantBudgets } from '../../master/billing/tenant-budgets.js';
import type { LimitRule } from '../../master/limits/limit-rules.js';
import type { BudgetRule } from '../../master/billing/budgets.js';

const owns = (id: string) => id.startsWith('key-acme');
const field = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof ValidationError) return err.field;
    throw err;
  }
};

describe('tenant limits within the caps', () => {
  const cluster: LimitRule[] = [
    { scope: 'tenant', requests_per_minute: 100 }, // each tenant
    { scope: 'tenant', id: 'acme', model: 'gpt-4o', tokens_per_day: 1000 },
    { scope: 'key', concurrent_tasks: 5 }, // each key
    { scope: 'key', id: 'key-acme-big', concurrent_tasks: 20 },
  ];
  const lim = (rules: LimitRule[]) => () => checkTenantLimits('acme', { rules }, cluster, owns);

  it('the rule for each tenant caps the tenant and its keys; a named cap replaces it', () => {
    expect(field(lim([{ scope: 'key', requests_per_minute: 100 }]))).toBeUndefined();
    expect(field(lim([{ scope: 'key', requests_per_minute: 101 }]))).toBe('rules.0.requests_per_minute');
    expect(field(lim([{ scope: 'tenant', requests_per_minute: 20, window_s: 10 }]))).toBe('rules.0.requests_per_minute'); // 2/s > 100/60 s
    expect(field(checkTenantLimits.bind(null, 'acme', { rules: [{ scope: 'tenant', requests_per_minute: 500 }] }, [...cluster, { scope: 'tenant', id: 'acme', requests_per_minute: 1000 }], owns))).toBeUndefined();
  });

  it('a model cap holds for that model only; key caps per key', () => {
    expect(field(lim([{ scope: 'key', model: 'gpt-4o', tokens_per_day: 1001 }]))).toBe('rules.0.tokens_per_day');
    expect(field(lim([{ scope: 'key', tokens_per_day: 5000 }]))).toBeUndefined(); // any model: the gpt-4o cap still holds on its own
    expect(field(lim([{ scope: 'key', concurrent_tasks: 6 }]))).toBe('rules.0.concurrent_tasks');
    expect(field(lim([{ scope: 'key', id: 'key-acme-big', concurrent_tasks: 20 }]))).toBeUndefined();
    expect(field(lim([{ scope: 'key', id: 'key-acme-big', concurrent_tasks: 21 }]))).toBe('rules.0.concurrent_tasks');
  });

  it('only its own tenant and keys; a tenant rule gets the tenant id', () => {
    expect(field(lim([{ scope: 'key', id: 'key-globex', concurrent_tasks: 1 }]))).toBe('rules.0.id');
    expect(field(lim([{ scope: 'tenant', id: 'globex', concurrent_tasks: 1 }]))).toBe('rules.0.id');
    expect(lim([{ scope: 'tenant', concurrent_tasks: 1 }])()).toEqual({ rules: [{ scope: 'tenant', id: 'acme', concurrent_tasks: 1 }] });
  });
});

describe('tenant budgets within the caps', () => {
  const cluster: BudgetRule[] = [
    { scope: 'tenant', id: 'acme', period: 'month', hard: 100 },
    { scope: 'key', period: 'day', hard: 5 },
    { scope: 'tenant', period: 'day', soft: 1 }, // soft only: no cap
  ];
  const bud = (budgets: BudgetRule[]) => () => checkTenantBudgets('acme', { budgets }, cluster, owns);

  it("a month cap bounds day and month budgets; a day cap a day's only; soft alone caps nothing", () => {
    expect(field(bud([{ scope: 'tenant', period: 'day', hard: 100 }]))).toBeUndefined();
    expect(field(bud([{ scope: 'tenant', period: 'day', soft: 101 }]))).toBe('budgets.0.soft');
    expect(field(bud([{ scope: 'key', period: 'day', hard: 6 }]))).toBe('budgets.0.hard');
    expect(field(bud([{ scope: 'key', period: 'month', hard: 60 }]))).toBeUndefined();
    expect(field(bud([{ scope: 'key', period: 'month', hard: 101 }]))).toBe('budgets.0.hard');
    expect(field(bud([{ scope: 'key', id: 'key-globex', period: 'day', hard: 1 }]))).toBe('budgets.0.id');
  });
});
