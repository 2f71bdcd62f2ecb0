/**
 * Which meters a submit is charged on: the rules that apply to a caller (its
 * key and tenant) and a model, each limit of them one meter with its store
 * key. Pure: no counters here (admission-limiter.ts consumes them).
 */
import { type LimitField, type LimitRule, LIMIT_FIELDS } from './limit-rules.js';

export type MeterUnit = 'requests' | 'tokens' | 'tasks';

export interface Meter {
  /** The policy name in the RateLimit fields (`key-rpm`, `tenant-tokens-day`, ...). */
  readonly name: string;
  readonly field: LimitField;
  readonly unit: MeterUnit;
  readonly limit: number;
  /** Rate window in seconds; 0 for concurrency; the calendar period's length for quotas. */
  readonly windowS: number;
  /** Counter key in the limiter store (includes the calendar period of a quota). */
  readonly storeKey: string;
  /** `day` / `month` for quotas (UTC calendar), undefined otherwise. */
  readonly period?: 'day' | 'month';
}

export interface Caller {
  key: string;
  tenant: string;
}

const UNIT: Record<LimitField, MeterUnit> = {
  requests_per_minute: 'requests',
  tokens_per_minute: 'tokens',
  concurrent_tasks: 'tasks',
  requests_per_day: 'requests',
  requests_per_month: 'requests',
  tokens_per_day: 'tokens',
  tokens_per_month: 'tokens',
};

const SHORT: Record<LimitField, string> = {
  requests_per_minute: 'rpm',
  tokens_per_minute: 'tpm',
  concurrent_tasks: 'concurrent',
  requests_per_day: 'requests-day',
  requests_per_month: 'requests-month',
  tokens_per_day: 'tokens-day',
  tokens_per_month: 'tokens-month',
};

/** The UTC calendar period `at` falls in: its label and when it ends. */
export function calendarPeriod(period: 'day' | 'month', atMs: number): { label: string; endMs: number; lengthS: number } {
  const d = new Date(atMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'day') {
    const start = Date.UTC(y, m, d.getUTCDate());
    return { label: new Date(start).toISOString().slice(0, 10), endMs: start + 86_400_000, lengthS: 86_400 };
  }
  const start = Date.UTC(y, m, 1);
  const end = Date.UTC(y, m + 1, 1);
  return { label: new Date(start).toISOString().slice(0, 7), endMs: end, lengthS: (end - start) / 1000 };
}

/** The rules of one scope that apply: those naming the caller replace the id-less ones, per model slot. */
export function applicable(rules: readonly LimitRule[], scope: 'key' | 'tenant', id: string, model: string | undefined): LimitRule[] {
  const slots = model === undefined ? [undefined] : [undefined, model];
  return slots.flatMap((slot) => {
    const inSlot = rules.filter((r) => r.scope === scope && r.model === slot);
    const named = inSlot.filter((r) => r.id === id);
    return named.length > 0 ? named : inSlot.filter((r) => r.id === undefined);
  });
}

/**
 * Every meter a submit by `caller` for `model` is charged on, at time `nowMs`.
 * `layer`: the rules are a tenant admin's own (tenant-limits.ts), counted on
 * counters of their own next to the cluster admin's, so both hold.
 */
export function metersFor(rules: readonly LimitRule[], caller: Caller, model: string | undefined, nowMs: number, layer?: string): Meter[] {
  const meters = new Map<string, Meter>();
  const add = (m: Meter) => {
    const had = meters.get(m.storeKey);
    if (!had || m.limit < had.limit) meters.set(m.storeKey, m); // two rules on one counter: the lower limit
  };
  for (const scope of ['key', 'tenant'] as const) {
    const id = scope === 'key' ? caller.key : caller.tenant;
    for (const rule of applicable(rules, scope, id, model)) {
      for (const field of LIMIT_FIELDS) {
        const limit = rule[field];
        if (limit === undefined) continue;
        const slot = rule.model === undefined ? '*' : rule.model;
        const base = `${layer === undefined ? '' : `${layer}/`}${scope}:${id}|${slot}|${SHORT[field]}`;
        const name = `${scope}-${SHORT[field]}${rule.model === undefined ? '' : `-${rule.model}`}`;
        const period = field.endsWith('_day') ? 'day' : field.endsWith('_month') ? 'month' : undefined;
        if (period) {
          const p = calendarPeriod(period, nowMs);
          add({ name, field, unit: UNIT[field], limit, windowS: p.lengthS, storeKey: `${base}|${p.label}`, period });
        } else {
          const windowS = field === 'concurrent_tasks' ? 0 : (rule.window_s ?? 60);
          add({ name, field, unit: UNIT[field], limit, windowS, storeKey: base });
        }
      }
    }
  }
  return [...meters.values()];
}
