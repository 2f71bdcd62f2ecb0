/**
 * A usage report: the ledger rows of one period (UTC day or month), for one
 * tenant or all, summed per tenant, key, kind and model; as JSON or CSV.
 */
import { ValidationError } from '../../common/errors.js';
import { calendarPeriod } from '../limits/limit-plan.js';
import { type UsageRow, type UsageTotals, USAGE_SUMS, addRow, emptyTotals } from './usage-row.js';
import type { UsageStore } from './usage-store.js';

export interface UsageReport {
  tenant: string | null;
  period: 'day' | 'month';
  label: string;
  from: string;
  to: string;
  currency: string;
  totals: UsageTotals;
  lines: ({ tenant: string; key: string; kind: string; model: string | null } & UsageTotals)[];
}

/** `2026-12` / `2026-12-02` (or empty: the current one) -> the period's bounds. */
export function periodBounds(period: 'day' | 'month', at: string | undefined, nowMs: number): { label: string; fromMs: number; toMs: number } {
  const atMs = at === undefined ? nowMs : Date.parse(period === 'month' ? `${at}-01T00:00:00Z` : `${at}T00:00:00Z`);
  if (!Number.isFinite(atMs) || (at !== undefined && new Date(atMs).toISOString().slice(0, at.length) !== at)) throw new ValidationError('at', `"${at}" is not a valid ${period === 'month' ? 'YYYY-MM' : 'YYYY-MM-DD'} date`);
  const p = calendarPeriod(period, atMs);
  return { label: p.label, fromMs: p.endMs - p.lengthS * 1000, toMs: p.endMs };
}

export async function usageReport(store: UsageStore, q: { tenant?: string; period: 'day' | 'month'; at?: string; currency: string }, nowMs: number): Promise<UsageReport> {
  const b = periodBounds(q.period, q.at, nowMs);
  const totals = emptyTotals();
  const lines = new Map<string, UsageReport['lines'][number]>();
  for (const r of await store.query({ tenant: q.tenant, fromMs: b.fromMs, toMs: b.toMs })) {
    addRow(totals, r);
    const k = `${r.tenant}\u0000${r.key}\u0000${r.kind}\u0000${r.model ?? ''}`;
    let line = lines.get(k);
    if (!line) lines.set(k, (line = { tenant: r.tenant, key: r.key, kind: r.kind, model: r.model, ...emptyTotals() }));
    addRow(line, r as UsageRow);
  }
  return {
    tenant: q.tenant ?? null,
    period: q.period,
    label: b.label,
    from: new Date(b.fromMs).toISOString(),
    to: new Date(b.toMs).toISOString(),
    currency: q.currency,
    totals,
    lines: [...lines.values()].sort((a, c) => a.tenant.localeCompare(c.tenant) || a.key.localeCompare(c.key) || a.kind.localeCompare(c.kind) || (a.model ?? '').localeCompare(c.model ?? '')),
  };
}

const csvCell = (v: string | number | null): string => {
  const s = v === null ? '' : String(v);
  // Quote, and defuse spreadsheet formulas (= + - @ at the start).
  return /[",\n\r]|^[=+\-@]/.test(s) ? `"${(/^[=+\-@]/.test(s) ? `'${s}` : s).replace(/"/g, '""')}"` : s;
};

export function reportCsv(r: UsageReport): string {
  const head = ['period', 'tenant', 'key', 'kind', 'model', 'attempts', ...USAGE_SUMS, 'currency'];
  const rows = r.lines.map((l) => [r.label, l.tenant, l.key, l.kind, l.model, l.attempts, ...USAGE_SUMS.map((k) => l[k]), r.currency]);
  return [head, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}
