/** Builds the usage ledger, price table and budgets from the master's options; budgets gate every submit. */
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { TaskService } from '../core/task-service.js';
import { type BudgetsConfig, type BudgetsOptions, Budgets, budgetsConfig } from './budgets.js';
import { PriceTable, type PriceVersion, type priceTableBody } from './price-table.js';
import { UsageLedger } from './usage-ledger.js';
import { registerUsageMetrics } from './usage-metrics.js';
import { MemoryUsageStore, SqliteUsageStore, type UsageStore } from './usage-store.js';
import type { z } from 'zod';
import { FileTenantSettings, MemoryTenantSettings } from '../limits/tenant-settings.js';

export class Billing {
  readonly prices: PriceTable;
  readonly ledger: UsageLedger;
  readonly budgets: Budgets;

  constructor(
    readonly store: UsageStore,
    tasks: TaskService,
    now: () => number,
    budgets: BudgetsOptions = {},
  ) {
    this.prices = new PriceTable(store.loadPrices());
    this.ledger = new UsageLedger(store, this.prices, tasks.events);
    this.budgets = new Budgets(this.ledger, tasks.events, now, () => this.prices.latest?.currency ?? 'USD', budgets);
    const saved = budgetsConfig.safeParse(store.loadSetting('budgets'));
    if (saved.success) this.budgets.setBudgets(saved.data);
    tasks.useAdmissionGate(this.budgets);
    // A shared store (PostgreSQL): prices and budgets another master's admin set are in force here too.
    store.watch?.(() => {
      this.prices.merge(store.loadPrices());
      const now = budgetsConfig.safeParse(store.loadSetting('budgets'));
      if (now.success) this.budgets.setBudgets(now.data);
    });
    this.now = now;
  }

  private readonly now: () => number;

  /** Adds a price version once the store kept it (rejects, and changes nothing, when it could not). */
  async addPrices(body: z.infer<typeof priceTableBody>): Promise<PriceVersion> {
    const v = this.prices.next(body, this.now());
    await this.store.savePrice(v);
    this.prices.merge([v]);
    return v;
  }

  /** Puts budgets in force once the store kept them (rejects, and changes nothing, when it could not). */
  async setBudgets(c: BudgetsConfig): Promise<BudgetsConfig> {
    await this.store.saveSetting('budgets', c);
    this.budgets.setBudgets(c);
    return c;
  }

  close(): void | Promise<void> {
    this.ledger.close();
    return this.store.close();
  }
}

/**
 * `shared`: the ledger on the task store's PostgreSQL (postgres-usage-store.ts), opened by the master; wins over dataDir.
 * `budgets`: with it, tenant admins' budgets and every master's spend (postgres-budget-spend.ts) on that database too;
 * without, tenant admins' budgets are kept in `<data dir>/tenant-budgets.json` (memory without a data dir).
 */
export function openBilling(o: { dataDir: string; usageMetrics: 'off' | 'on' }, tasks: TaskService, now: () => number, registry: Registry, shared?: UsageStore, budgets?: BudgetsOptions): Billing {
  const store = shared ?? (o.dataDir ? new SqliteUsageStore(join(o.dataDir, 'usage.db')) : new MemoryUsageStore());
  const tenantSettings = budgets?.tenantSettings ?? (o.dataDir ? new FileTenantSettings(join(o.dataDir, 'tenant-budgets.json')) : new MemoryTenantSettings());
  const billing = new Billing(store, tasks, now, { ...budgets, tenantSettings });
  if (o.usageMetrics === 'on') registerUsageMetrics(registry, billing.ledger);
  return billing;
}
