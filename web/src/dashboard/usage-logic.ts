/**
 * The usage page's pure logic (no DOM; unit-tested): a report's lines summed
 * by tenant, key or model, and each budget's spend this period from the
 * day and month reports, with its state (under, past soft, past hard).
 */

export const USAGE_SUMS = ['tokens_in', 'tokens_out', 'processing_ms', 'cpu_us', 'mem_mib_ms', 'images', 'megapixels', 'bytes_in', 'bytes_out', 'cost'] as const;
export type UsageSum = (typeof USAGE_SUMS)[number];
export type UsageTotals = Record<UsageSum, number> & { attempts: number };

/** One line of GET /api/v1/usage: one tenant, key, kind and model. */
export type UsageLine = { tenant: string; key: string; kind: string; model: string | null } & UsageTotals;

export interface UsageReportView {
  tenant: string | null;
  period: 'day' | 'month';
  label: string;
  from: string;
  to: string;
  currency: string;
  totals: UsageTotals;
  lines: UsageLine[];
}

export const GROUPINGS = ['line', 'tenant', 'key', 'model'] as const;
export type Grouping = (typeof GROUPINGS)[number];

export interface GroupedLine extends UsageTotals {
  /** What the line is about: tenant, key, kind and model for `line`, else the one field. */
  tenant: string | null;
  key: string | null;
  kind: string | null;
  model: string | null;
}

export function emptyTotals(): UsageTotals {
  return { attempts: 0, tokens_in: 0, tokens_out: 0, processing_ms: 0, cpu_us: 0, mem_mib_ms: 0, images: 0, megapixels: 0, bytes_in: 0, bytes_out: 0, cost: 0 };
}

function add(into: UsageTotals, l: UsageTotals): void {
  into.attempts += l.attempts;
  for (const k of USAGE_SUMS) into[k] += l[k];
}

/** The report's lines summed per tenant, key or model (`line`: as the server sent them), biggest cost first for a grouping. */
export function groupLines(lines: readonly UsageLine[], by: Grouping): GroupedLine[] {
  if (by === 'line') return lines.map((l) => ({ ...l }));
  const out = new Map<string, GroupedLine>();
  for (const l of lines) {
    const k = by === 'tenant' ? l.tenant : by === 'key' ? `${l.tenant}\u0000${l.key}` : `${l.kind}\u0000${l.model ?? ''}`;
    let g = out.get(k);
    if (!g) {
      g = { tenant: by === 'model' ? null : l.tenant, key: by === 'key' ? l.key : null, kind: by === 'model' ? l.kind : null, model: by === 'model' ? l.model : null, ...emptyTotals() };
      out.set(k, g);
    }
    add(g, l);
  }
  return [...out.values()].sort((a, b) => b.cost - a.cost || b.attempts - a.attempts);
}

/** A budget as GET /api/v1/admin/budgets answers it. */
export interface BudgetRule {
  scope: 'tenant' | 'key';
  id?: string;
  period: 'day' | 'month';
  soft?: number;
  hard?: number;
}

export interface BudgetStatus {
  scope: 'tenant' | 'key';
  /** The tenant or key it is for. */
  id: string;
  /** The rule names it (not a budget for each). */
  named: boolean;
  period: 'day' | 'month';
  soft: number | null;
  hard: number | null;
  spent: number;
  state: 'ok' | 'warning' | 'exhausted';
}

/** What each tenant and key spent in a report. */
function spendOf(report: UsageReportView | undefined): { tenant: Map<string, number>; key: Map<string, number> } {
  const tenant = new Map<string, number>();
  const key = new Map<string, number>();
  for (const l of report?.lines ?? []) {
    tenant.set(l.tenant, (tenant.get(l.tenant) ?? 0) + l.cost);
    key.set(l.key, (key.get(l.key) ?? 0) + l.cost);
  }
  return { tenant, key };
}

/**
 * Every budget with its spend this period: a named budget for its tenant
 * (key); a budget for each one, for each tenant (key) of the report that no
 * named budget of the same scope and period covers (as the master applies them).
 */
export function budgetStatuses(rules: readonly BudgetRule[], day: UsageReportView | undefined, month: UsageReportView | undefined): BudgetStatus[] {
  const spend = { day: spendOf(day), month: spendOf(month) };
  const out: BudgetStatus[] = [];
  const status = (b: BudgetRule, id: string, named: boolean): BudgetStatus => {
    const spent = spend[b.period][b.scope].get(id) ?? 0;
    const state = b.hard !== undefined && spent >= b.hard ? 'exhausted' : b.soft !== undefined && spent >= b.soft ? 'warning' : 'ok';
    return { scope: b.scope, id, named, period: b.period, soft: b.soft ?? null, hard: b.hard ?? null, spent, state };
  };
  for (const b of rules) {
    if (b.id !== undefined) {
      out.push(status(b, b.id, true));
      continue;
    }
    const covered = new Set(rules.filter((x) => x.scope === b.scope && x.period === b.period && x.id !== undefined).map((x) => x.id));
    for (const id of [...spend[b.period][b.scope].keys()].sort()) if (!covered.has(id)) out.push(status(b, id, false));
  }
  return out;
}

/** `1234.5` -> `1,234.50 EUR`-like text with up to 6 decimals for small amounts. */
export function money(v: number, currency: string): string {
  const digits = v !== 0 && Math.abs(v) < 0.01 ? 6 : 2;
  return `${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })} ${currency}`;
}

/** The ledger's CPU time (µs) as CPU seconds: `1.234 s`. */
export function cpuSeconds(us: number): string {
  return `${(us / 1e6).toFixed(3)} s`;
}

/** The ledger's memory × time (MiB·ms) as GiB-seconds, the unit it is priced in: `0.125 GiB·s`. */
export function gibSeconds(mibMs: number): string {
  return `${(mibMs / 1024 / 1000).toFixed(3)} GiB\u00b7s`;
}

/** A comma or space separated list from a form field; empty: undefined. */
export function listField(text: string): string[] | undefined {
  const items = text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  return items.length > 0 ? items : undefined;
}
