/**
 * Usage per tenant on /metrics (opt-in, TASKWIRE_USAGE_METRICS=on): counted from the ledger's rows.
 * The counters are CellCounters (common/cell-metrics.ts): a tenant's cells are looked up once, each on
 * its first recording (series in the order prom-client's would be), and kept by tenant (and kind), so a
 * row costs a Map lookup and a few additions; prom-client reads the cells only when /metrics is collected.
 */
import type { Registry } from 'prom-client';
import { CellCounter, type CounterCell } from '../../common/cell-metrics.js';
import type { UsageLedger } from './usage-ledger.js';
import type { UsageRow } from './usage-row.js';

/** One tenant's cells, each made on its first recording. */
interface TenantCells {
  attempts: Map<string, CounterCell>;
  tokensIn?: CounterCell;
  tokensOut?: CounterCell;
  cost?: CounterCell;
  seconds?: CounterCell;
}

/** The listener the ledger calls with every row (exported for the overhead bench). */
export function usageMetricsRecorder(registry: Registry): (row: UsageRow) => void {
  const attempts = new CellCounter({ name: 'taskwire_usage_attempts_total', help: 'Attempts in the usage ledger, by tenant and kind', labelNames: ['tenant', 'kind'], registers: [registry] });
  const tokens = new CellCounter({ name: 'taskwire_usage_tokens_total', help: 'LLM tokens in the usage ledger, by tenant and direction (in, out)', labelNames: ['tenant', 'direction'], registers: [registry] });
  const cost = new CellCounter({ name: 'taskwire_usage_cost_total', help: 'Cost in the usage ledger at the prices in force, by tenant', labelNames: ['tenant'], registers: [registry] });
  const ms = new CellCounter({ name: 'taskwire_usage_processing_seconds_total', help: 'Processing time in the usage ledger, by tenant', labelNames: ['tenant'], registers: [registry] });
  // Bounded by the tenants (and kinds) that have rows, as prom-client's series were.
  const byTenant = new Map<string, TenantCells>();
  return (r) => {
    const tenant = r.tenant;
    let t = byTenant.get(tenant);
    if (!t) byTenant.set(tenant, (t = { attempts: new Map() }));
    let a = t.attempts.get(r.kind);
    if (!a) t.attempts.set(r.kind, (a = attempts.cell({ tenant, kind: r.kind })));
    a.value++;
    if (r.tokens_in > 0) (t.tokensIn ??= tokens.cell({ tenant, direction: 'in' })).value += r.tokens_in;
    if (r.tokens_out > 0) (t.tokensOut ??= tokens.cell({ tenant, direction: 'out' })).value += r.tokens_out;
    if (r.cost > 0) (t.cost ??= cost.cell({ tenant })).value += r.cost;
    if (r.processing_ms > 0) (t.seconds ??= ms.cell({ tenant })).value += r.processing_ms / 1000;
  };
}

export function registerUsageMetrics(registry: Registry, ledger: UsageLedger): void {
  ledger.onRow(usageMetricsRecorder(registry));
}
