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
 */
import { z } from 'zod';
import { ResourceExhaustedError } from '../../common/errors.js';
import type { AdmissionGate, AdmissionTicket } from '../core/admission-gate.js';
import type { SubmitRequest } from '../core/task-admission.js';
import type { TaskEvents } from '../core/task-events.js';
import { calendarPeriod } from '../limits/limit-plan.js';
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

/** A hard budget refused the submit: 429 everywhere; OpenAI clients see `insufficient_quota`, as OpenAI sends it. */
export class BudgetExhaustedError extends ResourceExhaustedError {
  readonly openaiCode = 'insufficient_quota';
  constructor(message: string, retryAfterS: number, headers: Record<string, string>) {
    super(message, retryAfterS, headers);
    this.name = 'BudgetExhaustedError';
  }
}

const spendKey = (scope: string, id: string, period: string, label: string) => `${scope}:${id}|${period}|${label}`;

export class Budgets implements AdmissionGate {
  private config: BudgetsConfig = { budgets: [] };
  private readonly spend = new Map<string, number>();

  constructor(
    private readonly ledger: UsageLedger,
    private readonly events: TaskEvents,
    private readonly now: () => number,
    private readonly currency: () => string,
  ) {
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

  /** What a tenant (key) spent in the period containing `atMs`. */
  spent(scope: 'tenant' | 'key', id: string, period: 'day' | 'month', atMs = this.now()): number {
    return this.spend.get(spendKey(scope, id, period, calendarPeriod(period, atMs).label)) ?? 0;
  }

  private rulesFor(scope: 'tenant' | 'key', id: string): BudgetRule[] {
    const out: BudgetRule[] = [];
    for (const period of ['day', 'month'] as const) {
      const inScope = this.config.budgets.filter((b) => b.scope === scope && b.period === period);
      const named = inScope.filter((b) => b.id === id);
      out.push(...(named.length > 0 ? named : inScope.filter((b) => b.id === undefined)));
    }
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
        for (const b of this.rulesFor(scope, id)) {
          if (b.period === period && b.soft !== undefined && before < b.soft && after >= b.soft && this.events.wants('budget.warning')) {
            // The event is the budget's tenant's (its keys see it on the event stream), whichever scope the budget is.
            const body = { scope, id, key: scope === 'key' ? r.key : null, period, label, spent: after, soft: b.soft, hard: b.hard ?? null, currency: this.currency() };
            this.events.publish('budget.warning', body, { tenant: r.tenant });
          }
        }
      }
    }
  }

  active(): boolean {
    return this.config.budgets.length > 0;
  }

  async reserve(reqs: readonly SubmitRequest[]): Promise<AdmissionTicket | undefined> {
    if (this.config.budgets.length === 0) return undefined;
    const now = this.now();
    const callers = new Set(reqs.map((r) => `${r.tenant ?? 'default'}\u0000${r.owner ?? 'local'}`));
    for (const c of callers) {
      const [tenant, key] = c.split('\u0000') as [string, string];
      for (const [scope, id] of [['tenant', tenant], ['key', key]] as const) {
        for (const b of this.rulesFor(scope, id)) {
          if (b.hard === undefined) continue;
          const spent = this.spent(scope, id, b.period, now);
          if (spent < b.hard) continue;
          const p = calendarPeriod(b.period, now);
          const retryS = Math.max(1, Math.ceil((p.endMs - now) / 1000));
          throw new BudgetExhaustedError(
            `budget exhausted: ${scope} ${id} spent ${spent.toFixed(4)} of its ${b.hard} ${this.currency()} budget for ${p.label}; submits are refused until the ${b.period} ends or an admin raises the budget`,
            retryS,
            { 'X-Budget-Limit': String(b.hard), 'X-Budget-Spent': spent.toFixed(6), 'X-Budget-Reset': String(Math.ceil(p.endMs / 1000)) },
          );
        }
      }
    }
    return undefined;
  }
}
