/**
 * Budgets per tenant and key, per UTC day or month, in the price table's
 * currency (PUT /api/v1/admin/budgets):
 *   { "budgets": [ { "scope": "tenant", "id": "acme", "period": "month", "soft": 80, "hard": 100 },
 *                  { "scope": "key", "period": "day", "hard": 5 } ] }
 * A budget without `id` applies to each tenant (key) on its own; one naming
 * it replaces those. Soft: a `budget.warning` event when the spend reaches
 * it. Hard: every submit of that tenant (key) is refused on every surface
 * (it is an AdmissionGate) with RESOURCE_EXHAUSTED, 429 and Retry-After until
 * the period ends. The spend is the sum of the ledger's costs this period
 * (seeded from the ledger at start). Work admitted before the limit was
 * reached still runs and is billed: a hard budget can be passed by what was
 * in flight.
 *
 * With several masters on one PostgreSQL the hard check reads the shared
 * spend (`SharedSpend`, postgres-budget-spend.ts: the ledger's total, kept by
 * PostgreSQL), so every master refuses once the tenant's spend on all of them
 * reached the budget. A tenant admin's own budgets (tenant-budgets.ts) hold
 * in addition to the cluster admin's.
 */
import { z } from 'zod';
import { ResourceExhaustedError, TaskwireError, errorMessage } from '../../common/errors.js';
import type { AdmissionGate, AdmissionTicket } from '../core/admission-gate.js';
import type { SubmitRequest } from '../core/task-admission.js';
import type { TaskEvents } from '../core/task-events.js';
import { calendarPeriod } from '../limits/limit-plan.js';
import type { TenantSettings } from '../limits/tenant-settings.js';
import type { UsageLedger } from './usage-ledger.js';
import type { UsageRow } from './usage-row.js';

const amount = z.number().min(0).max(1e12);
export const budgetRule = z
  .object({
    scope: z.enum(['tenant', 'key']),
    id: z.string().min(1).max(200).optional(),
    period: z.enum(['day', 'month']),
    soft: amount.optional(),
    hard: amount.optional(),
  })
  .strict()
  .refine((b) => b.soft !== undefined || b.hard !== undefined, { message: 'a budget sets soft, hard or both' });
export const budgetsConfig = z.object({ budgets: z.array(budgetRule).max(1000) }).strict();
export type BudgetRule = z.infer<typeof budgetRule>;
export type BudgetsConfig = z.infer<typeof budgetsConfig>;

/** A tenant admin's own budgets (tenant-budgets.ts checks them against the cluster admin's). */
export const tenantBudgetsBody = z.object({ budgets: z.array(budgetRule).max(200) }).strict();
export type TenantBudgets = z.infer<typeof tenantBudgetsBody>;

/** The budgets of one scope that apply to `id` per period: named ones replace the id-less ones. */
export function budgetsFor(rules: readonly BudgetRule[], scope: 'tenant' | 'key', id: string): BudgetRule[] {
  const out: BudgetRule[] = [];
  for (const period of ['day', 'month'] as const) {
    const inScope = rules.filter((b) => b.scope === scope && b.period === period);
    const named = inScope.filter((b) => b.id === id);
    out.push(...(named.length > 0 ? named : inScope.filter((b) => b.id === undefined)));
  }
  return out;
}

/** A hard budget refused the submit: 429 everywhere; OpenAI clients see `insufficient_quota`, as OpenAI sends it. */
export class BudgetExhaustedError extends ResourceExhaustedError {
  readonly openaiCode = 'insufficient_quota';
  constructor(message: string, retryAfterS: number, headers: Record<string, string>) {
    super(message, retryAfterS, headers);
    this.name = 'BudgetExhaustedError';
  }
}

const spendKey = (scope: string, id: string, period: string, label: string) => `${scope}:${id}|${period}|${label}`;

/** The spend of every master, by spend key (`tenant:acme|month|2026-12`): postgres-budget-spend.ts. */
export interface SharedSpend {
  spent(keys: readonly string[]): Promise<Map<string, number>>;
  /** Claims the warning of a soft budget's crossing of one spend key: true for the one master that claims it first. */
  claimWarning(key: string, soft: number): Promise<boolean>;
}

export interface BudgetsOptions {
  /** Where tenant admins' own budgets are kept (memory when left out). */
  tenantSettings?: TenantSettings;
  /** Several masters: the hard check reads every master's spend here. */
  shared?: SharedSpend;
}

export class Budgets implements AdmissionGate {
  private config: BudgetsConfig = { budgets: [] };
  private readonly spend = new Map<string, number>();
  /** Tenant admins' own budgets, by tenant (only non-empty ones). */
  private readonly tenantBudgets = new Map<string, TenantBudgets>();

  constructor(
    private readonly ledger: UsageLedger,
    private readonly events: TaskEvents,
    private readonly now: () => number,
    private readonly currency: () => string,
    private readonly o: BudgetsOptions = {},
  ) {
    for (const [t, v] of o.tenantSettings?.load() ?? []) this.applyTenant(t, v);
    o.tenantSettings?.watch?.((t, v) => this.applyTenant(t, v));
    const now0 = now();
    const month = calendarPeriod('month', now0);
    // Seeded with the rows written before now (a SQLite or memory ledger reads them in this call; PostgreSQL answers later); later ones come through onRow.
    void ledger.store.query({ fromMs: month.endMs - month.lengthS * 1000, toMs: now0 + 1 }).then((rows) => rows.forEach((r) => this.add(r, false)), () => undefined);
    ledger.onRow((r) => this.add(r, true));
  }

  get budgets(): BudgetsConfig {
    return this.config;
  }

  setBudgets(c: BudgetsConfig): void {
    this.config = c;
  }

  /** A tenant admin's own budgets for its tenant and its keys (none: `{budgets: []}`). */
  tenantBudgetsOf(tenant: string): TenantBudgets {
    return this.tenantBudgets.get(tenant) ?? { budgets: [] };
  }

  /** Replaces a tenant admin's budgets (checked against the caps by the route: tenant-budgets.ts); resolves once kept. */
  async setTenantBudgets(tenant: string, v: TenantBudgets): Promise<void> {
    await this.o.tenantSettings?.save(tenant, v.budgets.length > 0 ? v : undefined);
    this.applyTenant(tenant, v);
  }

  private applyTenant(tenant: string, v: unknown): void {
    const parsed = tenantBudgetsBody.safeParse(v);
    if (parsed.success && parsed.data.budgets.length > 0) this.tenantBudgets.set(tenant, parsed.data);
    else this.tenantBudgets.delete(tenant); // removed, or written by a newer taskwire: not in force here
  }

  /** What a tenant (key) spent in the period containing `atMs`. */
  spent(scope: 'tenant' | 'key', id: string, period: 'day' | 'month', atMs = this.now()): number {
    return this.spend.get(spendKey(scope, id, period, calendarPeriod(period, atMs).label)) ?? 0;
  }

  /** The budgets of a tenant (key) of `tenant`: the cluster admin's, and the tenant admin's own in addition. */
  private rulesFor(scope: 'tenant' | 'key', id: string, tenant: string): BudgetRule[] {
    const out = budgetsFor(this.config.budgets, scope, id);
    const own = this.tenantBudgets.get(tenant);
    if (own) out.push(...budgetsFor(own.budgets, scope, id));
    return out;
  }

  private add(r: UsageRow, live: boolean): void {
    if (r.cost === 0) return;
    for (const [scope, id] of [['tenant', r.tenant], ['key', r.key]] as const) {
      for (const period of ['day', 'month'] as const) {
        const label = calendarPeriod(period, r.at_ms).label;
        const k = spendKey(scope, id, period, label);
        const before = this.spend.get(k) ?? 0;
        const after = before + r.cost;
        this.spend.set(k, after);
        if (!live) continue;
        for (const b of this.rulesFor(scope, id, r.tenant)) {
          if (b.period !== period || b.soft === undefined || !this.events.wants('budget.warning')) continue;
          const warn = (spent: number) => {
            // The event is the budget's tenant's (its keys see it on the event stream), whichever scope the budget is.
            const body = { scope, id, key: scope === 'key' ? r.key : null, period, label, spent, soft: b.soft!, hard: b.hard ?? null, currency: this.currency() };
            this.events.publish('budget.warning', body, { tenant: r.tenant });
          };
          if (this.o.shared) void this.sharedWarning(k, b.soft, warn);
          else if (before < b.soft && after >= b.soft) warn(after);
        }
      }
    }
  }

  /**
   * Several masters: the soft budget's crossing on every master's spend, warned once by the
   * master that claims it (this row is committed: the shared total includes it).
   */
  private async sharedWarning(key: string, soft: number, warn: (spent: number) => void): Promise<void> {
    try {
      const spent = (await this.o.shared!.spent([key])).get(key) ?? 0;
      if (spent >= soft && (await this.o.shared!.claimWarning(key, soft))) warn(spent);
    } catch {
      // PostgreSQL out of reach: the next row of this key tries again.
    }
  }

  active(): boolean {
    return this.config.budgets.length > 0 || this.tenantBudgets.size > 0;
  }

  async reserve(reqs: readonly SubmitRequest[]): Promise<AdmissionTicket | undefined> {
    if (!this.active()) return undefined;
    const now = this.now();
    const callers = new Set(reqs.map((r) => `${r.tenant ?? 'default'}\u0000${r.owner ?? 'local'}`));
    const hard: { scope: 'tenant' | 'key'; id: string; b: BudgetRule & { hard: number }; key: string }[] = [];
    for (const c of callers) {
      const [tenant, key] = c.split('\u0000') as [string, string];
      for (const [scope, id] of [['tenant', tenant], ['key', key]] as const) {
        for (const b of this.rulesFor(scope, id, tenant)) {
          if (b.hard !== undefined) hard.push({ scope, id, b: b as BudgetRule & { hard: number }, key: spendKey(scope, id, b.period, calendarPeriod(b.period, now).label) });
        }
      }
    }
    if (hard.length === 0) return undefined;
    // Several masters: every master's spend, as committed now (one query); one master: its own count.
    let shared: Map<string, number> | undefined;
    if (this.o.shared) {
      try {
        shared = await this.o.shared.spent([...new Set(hard.map((h) => h.key))]);
      } catch (err) {
        // The spend cannot be read: refuse (503) rather than admit past a budget.
        throw new TaskwireError('UNAVAILABLE', `the budget spend is unavailable (${errorMessage(err)}); retry shortly`);
      }
    }
    for (const { scope, id, b, key } of hard) {
      const spent = shared ? (shared.get(key) ?? 0) : this.spent(scope, id, b.period, now);
      if (spent < b.hard) continue;
      const p = calendarPeriod(b.period, now);
      const retryS = Math.max(1, Math.ceil((p.endMs - now) / 1000));
      throw new BudgetExhaustedError(
        `budget exhausted: ${scope} ${id} spent ${spent.toFixed(4)} of its ${b.hard} ${this.currency()} budget for ${p.label}; submits are refused until the ${b.period} ends or an admin raises the budget`,
        retryS,
        { 'X-Budget-Limit': String(b.hard), 'X-Budget-Spent': spent.toFixed(6), 'X-Budget-Reset': String(Math.ceil(p.endMs / 1000)) },
      );
    }
    return undefined;
  }
}
