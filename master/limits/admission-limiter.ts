/**
 * The limits gate (an AdmissionGate, master/core/admission-gate.ts): every
 * submit on every surface is charged here before it is admitted.
 *
 *   requests (per minute, day, month)  1 per task
 *   tokens (per minute, day, month)    the llm task's estimate (request-cost.ts) at
 *                                      submit, corrected to the reported usage when it ends
 *   concurrent tasks                   1 per unfinished task, back when it ends
 *
 * Counters are rate-limiter-flexible limiters (limiter-store.ts): consume,
 * and on a refusal give back at once what this submit took (the refused
 * meter's points too), so only admitted work counts and a flood of refused
 * requests never pushes the window out: fixed windows, no lockout past one.
 */
import { RateLimiterRes } from 'rate-limiter-flexible';
import { TaskwireError, errorMessage } from '../../common/errors.js';
import type { AdmissionGate, AdmissionTicket } from '../core/admission-gate.js';
import type { SubmitRequest } from '../core/task-admission.js';
import { FINAL_EVENT_TYPES, DEFAULT_TENANT, type TaskEvents } from '../core/task-events.js';
import { type Meter, metersFor } from './limit-plan.js';
import { DEFAULT_MAX_TOKENS, type LimitsConfig, NO_LIMITS } from './limit-rules.js';
import type { LimiterStore } from './limiter-store.js';
import type { LimitsKeeper } from './limits-file.js';
import { RateLimitedError } from './rate-limited-error.js';
import { estimateTokens, modelOf } from './request-cost.js';
import { type TenantLimits, tenantLimitsBody } from './tenant-limits.js';
import type { TenantSettings } from './tenant-settings.js';

/** Submits that name no owner (no API keys: the one local caller). */
const LOCAL_KEY = 'local';

interface Charge {
  meter: Meter;
  points: number;
  /** When the rate window this charge fell in ends (token corrections after it are dropped). */
  windowEndMs: number;
}

/** What an admitted task holds until it ends. */
interface Held {
  charges: Charge[];
  tokens: number;
}

export interface AdmissionLimiterOptions {
  store: LimiterStore;
  events: TaskEvents;
  now: () => number;
  /** The rules from TASKWIRE_RATE_LIMITS. */
  config?: LimitsConfig;
  /** Where an admin's rules are kept (a data dir); they win over `config` until reset. */
  file?: LimitsKeeper;
  /** Where tenant admins' own rules are kept (tenant-limits.ts); memory when left out. */
  tenantSettings?: TenantSettings;
}

/** Counters of a tenant admin's rules: apart from the cluster admin's (limit-plan.ts `layer`). */
const TENANT_LAYER = 'ta';

export class AdmissionLimiter implements AdmissionGate {
  private config: LimitsConfig;
  /** Tenant admins' own rules, by tenant (only non-empty ones). */
  private readonly tenantRules = new Map<string, TenantLimits>();
  private readonly held = new Map<string, Held>();
  private readonly unsubscribe: () => void;
  /** Refusals by meter name (metrics, tests). */
  readonly refusals = new Map<string, number>();

  constructor(private readonly o: AdmissionLimiterOptions) {
    this.config = o.file?.load() ?? o.config ?? NO_LIMITS;
    this.source = this.config === (o.config ?? NO_LIMITS) ? 'setting' : 'admin';
    // Rules another master's admin set (a shared keeper): in force here too.
    o.file?.watch?.((c) => {
      this.config = c ?? o.config ?? NO_LIMITS;
      this.source = c ? 'admin' : 'setting';
    });
    for (const [t, v] of o.tenantSettings?.load() ?? []) this.applyTenant(t, v);
    o.tenantSettings?.watch?.((t, v) => this.applyTenant(t, v));
    this.unsubscribe = o.events.on(FINAL_EVENT_TYPES, (ev, task) => this.finished(ev.task_id, task.usage?.total_tokens));
  }

  /** Where the rules in force come from: TASKWIRE_RATE_LIMITS, or an admin's PUT. */
  source: 'setting' | 'admin';

  get limits(): LimitsConfig {
    return this.config;
  }

  /** Replaces the rules (PUT /api/v1/admin/limits; kept in the data dir or PostgreSQL), once kept. Counters of unchanged limits carry on. */
  async setLimits(config: LimitsConfig): Promise<void> {
    await this.o.file?.save(config); // kept first: rules no restart or other master would see are never in force
    this.config = config;
    this.source = 'admin';
  }

  /** Back to TASKWIRE_RATE_LIMITS (DELETE /api/v1/admin/limits). */
  async resetLimits(): Promise<void> {
    await this.o.file?.remove();
    this.config = this.o.config ?? NO_LIMITS;
    this.source = 'setting';
  }

  /** A tenant admin's own rules for its tenant and its keys (none: `{rules: []}`). */
  tenantLimits(tenant: string): TenantLimits {
    return this.tenantRules.get(tenant) ?? { rules: [] };
  }

  /** Replaces a tenant admin's rules (checked against the caps by the route: tenant-limits.ts); resolves once kept. */
  async setTenantLimits(tenant: string, v: TenantLimits): Promise<void> {
    await this.o.tenantSettings?.save(tenant, v.rules.length > 0 ? v : undefined);
    this.applyTenant(tenant, v);
  }

  private applyTenant(tenant: string, v: unknown): void {
    const parsed = tenantLimitsBody.safeParse(v);
    if (parsed.success && parsed.data.rules.length > 0) this.tenantRules.set(tenant, parsed.data);
    else this.tenantRules.delete(tenant); // removed, or written by a newer taskwire: not in force here
  }

  active(): boolean {
    return this.config.rules.length > 0 || this.tenantRules.size > 0;
  }

  async reserve(reqs: readonly SubmitRequest[]): Promise<AdmissionTicket | undefined> {
    const rules = this.config.rules;
    if (!this.active()) return undefined;
    const now = this.o.now();
    const maxTokens = this.config.default_max_tokens ?? DEFAULT_MAX_TOKENS;
    // Per request: its meters and tokens; per meter: the sum over the batch.
    const perReq = reqs.map((r) => {
      const caller = { key: r.owner ?? LOCAL_KEY, tenant: r.tenant ?? DEFAULT_TENANT };
      const model = modelOf(r.kind, r.input);
      const meters = metersFor(rules, caller, model, now);
      // The tenant admin's own rules hold too, on counters of their own.
      const own = this.tenantRules.get(caller.tenant);
      if (own) meters.push(...metersFor(own.rules, caller, model, now, TENANT_LAYER));
      return { meters, tokens: estimateTokens(r.kind, r.input, maxTokens) };
    });
    const totals = new Map<string, { meter: Meter; points: number }>();
    for (const { meters, tokens } of perReq) {
      for (const m of meters) {
        const points = m.unit === 'tokens' ? tokens : 1;
        if (points === 0) continue;
        const t = totals.get(m.storeKey);
        if (t) t.points += points;
        else totals.set(m.storeKey, { meter: m, points });
      }
    }
    if (totals.size === 0) return undefined;
    await this.o.store.ready;
    const taken: Charge[] = [];
    for (const { meter, points } of totals.values()) {
      const limiter = this.o.store.limiter(meter.limit, meter.windowS);
      try {
        const res = await limiter.consume(meter.storeKey, points);
        taken.push({ meter, points, windowEndMs: now + res.msBeforeNext });
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) {
          await this.giveBack(taken);
          // The counters cannot be read: refuse (503) rather than admit unlimited.
          throw new TaskwireError('UNAVAILABLE', `the limit store is unavailable (${errorMessage(err)}); retry shortly`);
        }
        await limiter.reward(meter.storeKey, points).catch(() => undefined);
        await this.giveBack(taken);
        this.refusals.set(meter.name, (this.refusals.get(meter.name) ?? 0) + 1);
        const remaining = Math.max(0, meter.limit - (err.consumedPoints - points));
        // A concurrency meter frees up when a task ends: no window to wait out.
        const resetMs = meter.windowS === 0 ? 1000 : meter.period ? Math.max(1000, err.msBeforeNext) : err.msBeforeNext;
        throw new RateLimitedError(meter, { policy: meter.name, limit: meter.limit, remaining, windowS: meter.windowS, resetMs }, points, this.o.now());
      }
    }
    return this.ticket(perReq, taken);
  }

  private ticket(perReq: { meters: Meter[]; tokens: number }[], taken: Charge[]): AdmissionTicket {
    const byKey = new Map(taken.map((c) => [c.meter.storeKey, c]));
    return {
      cancel: () => void this.giveBack(taken),
      admitted: (results) => {
        const back: Charge[] = [];
        results.forEach(({ task, created }, i) => {
          const r = perReq[i];
          if (!r) return;
          const charges: Charge[] = [];
          for (const m of r.meters) {
            const c = byKey.get(m.storeKey);
            const points = m.unit === 'tokens' ? r.tokens : 1;
            if (!c || points === 0) continue;
            charges.push({ meter: m, points, windowEndMs: c.windowEndMs });
          }
          // An idempotent replay made nothing new: it costs nothing.
          if (!created || this.held.has(task.id)) back.push(...charges);
          else this.held.set(task.id, { charges, tokens: r.tokens });
        });
        if (back.length > 0) void this.giveBack(back);
      },
    };
  }

  /** A task ended: its concurrency slot back, its token reservation set to what it used. */
  private finished(taskId: string, usedTokens: number | undefined): void {
    const h = this.held.get(taskId);
    if (!h) return;
    this.held.delete(taskId);
    const now = this.o.now();
    for (const c of h.charges) {
      const limiter = this.o.store.limiter(c.meter.limit, c.meter.windowS);
      if (c.meter.unit === 'tasks') void limiter.reward(c.meter.storeKey, c.points).catch(() => undefined);
      else if (c.meter.unit === 'tokens' && usedTokens !== undefined && (c.meter.period !== undefined || now < c.windowEndMs)) {
        const delta = usedTokens - c.points;
        if (delta > 0) void limiter.penalty(c.meter.storeKey, delta).catch(() => undefined);
        else if (delta < 0) void limiter.reward(c.meter.storeKey, -delta).catch(() => undefined);
      }
    }
  }

  private async giveBack(charges: readonly Charge[]): Promise<void> {
    await Promise.all(charges.map((c) => this.o.store.limiter(c.meter.limit, c.meter.windowS).reward(c.meter.storeKey, c.points).catch(() => undefined)));
  }

  /** Tasks holding a reservation now. */
  get heldCount(): number {
    return this.held.size;
  }

  close(): void {
    this.unsubscribe();
  }
}
