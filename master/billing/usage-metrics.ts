/** Usage per tenant on /metrics (opt-in, TASKWIRE_USAGE_METRICS=on): counted from the ledger's rows. */
import { Counter, type Registry } from 'prom-client';
import type { UsageLedger } from './usage-ledger.js';

export function registerUsageMetrics(registry: Registry, ledger: UsageLedger): void {
  const attempts = new Counter({ name: 'taskwire_usage_attempts_total', help: 'Attempts in the usage ledger, by tenant and kind', labelNames: ['tenant', 'kind'], registers: [registry] });
  const tokens = new Counter({ name: 'taskwire_usage_tokens_total', help: 'LLM tokens in the usage ledger, by tenant and direction (in, out)', labelNames: ['tenant', 'direction'], registers: [registry] });
  const cost = new Counter({ name: 'taskwire_usage_cost_total', help: 'Cost in the usage ledger at the prices in force, by tenant', labelNames: ['tenant'], registers: [registry] });
  const ms = new Counter({ name: 'taskwire_usage_processing_seconds_total', help: 'Processing time in the usage ledger, by tenant', labelNames: ['tenant'], registers: [registry] });
  ledger.onRow((r) => {
    attempts.inc({ tenant: r.tenant, kind: r.kind });
    if (r.tokens_in > 0) tokens.inc({ tenant: r.tenant, direction: 'in' }, r.tokens_in);
    if (r.tokens_out > 0) tokens.inc({ tenant: r.tenant, direction: 'out' }, r.tokens_out);
    if (r.cost > 0) cost.inc({ tenant: r.tenant }, r.cost);
    if (r.processing_ms > 0) ms.inc({ tenant: r.tenant }, r.processing_ms / 1000);
  });
}
