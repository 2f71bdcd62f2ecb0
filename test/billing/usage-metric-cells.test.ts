/**
 * The usage metrics per tenant (TASKWIRE_USAGE_METRICS=on) record into cells
 * read by prom-client only when /metrics is collected
 * (master/billing/usage-metrics.ts on common/cell-metrics.ts). Checked two
 * ways: against prom-client's own Counters fed what they were fed per row
 * before (the same text, series in the same order), and on a real master
 * with a real worker, two tenants' keys and a price table: each tenant's
 * attempts, processing seconds and cost on /metrics are the sums of its rows
 * in the usage ledger.
 */
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { promSamples } from '../helpers/prom-text.js';
import { usageMetricsRecorder } from '../../master/billing/usage-metrics.js';
import type { UsageRow } from '../../master/billing/usage-row.js';
import type { TaskView } from '../../common/task-view.js';

const NAMES = ['taskwire_usage_attempts_total', 'taskwire_usage_tokens_total', 'taskwire_usage_cost_total', 'taskwire_usage_processing_seconds_total'];

function row(i: number, tenant: string, kind: string, tokensIn: number, tokensOut: number, cost: number, ms: number): UsageRow {
  return {
    task_id: `t${i}`, attempt: 1, tenant, key: 'local', kind, model: null, worker_id: 'w', outcome: 'succeeded',
    tokens_in: tokensIn, tokens_out: tokensOut, processing_ms: ms, cpu_us: 0, mem_mib_ms: 0, images: 0, megapixels: 0,
    bytes_in: 10, bytes_out: 10, at_ms: i, cost, price_version: cost > 0 ? 1 : 0,
  };
}

describe('usage metric cells against prom-client', () => {
  it('write the same text as prom-client\'s Counters fed per row', async () => {
    const cells = new Registry();
    const record = usageMetricsRecorder(cells);
    // prom-client's twins of the cells, by name (same help and labels), fed as usage-metrics.ts did per row.
    const ref = new Registry();
    const twin: Record<string, Counter> = {};
    for (const m of cells.getMetricsAsArray() as unknown as { name: string; help: string; labelNames: string[] }[]) {
      twin[m.name] = new Counter({ name: m.name, help: m.help, labelNames: [...m.labelNames], registers: [ref] });
    }
    expect(Object.keys(twin).sort()).toEqual([...NAMES].sort());
    const refRecord = (r: UsageRow) => {
      twin.taskwire_usage_attempts_total!.inc({ tenant: r.tenant, kind: r.kind });
      if (r.tokens_in > 0) twin.taskwire_usage_tokens_total!.inc({ tenant: r.tenant, direction: 'in' }, r.tokens_in);
      if (r.tokens_out > 0) twin.taskwire_usage_tokens_total!.inc({ tenant: r.tenant, direction: 'out' }, r.tokens_out);
      if (r.cost > 0) twin.taskwire_usage_cost_total!.inc({ tenant: r.tenant }, r.cost);
      if (r.processing_ms > 0) twin.taskwire_usage_processing_seconds_total!.inc({ tenant: r.tenant }, r.processing_ms / 1000);
    };
    let s = 7;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    for (let i = 0; i < 2000; i++) {
      // A tenant's first rows without tokens or cost: its token and cost series appear later, as with prom-client.
      const r = row(i, pick(['default', 'acme', 'globex', 'initech']), pick(['echo', 'llm', 'image']), i < 50 ? 0 : pick([0, 0, 7, 1200]), pick([0, 3, 90]), i < 100 ? 0 : pick([0, 0.00001, 0.25, 3]), pick([0, 0.4, 12, 3500]));
      record(r);
      refRecord(r);
    }
    for (const name of NAMES) {
      const got = await cells.getSingleMetricAsString(name);
      expect(got, name).toBe(await ref.getSingleMetricAsString(name));
      expect(got.split('\n').length, `${name} has series`).toBeGreaterThan(4);
    }
    expect(await cells.metrics()).toBe(await ref.metrics());
  });
});

describe('usage metrics on a real master', () => {
  let c: TestCluster;
  const ADMIN = 'usage-cells-admin-key-0123456789';
  const http = (path: string, body?: unknown, key = ADMIN, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { apiKeys: [`admin:${ADMIN}`], usageMetrics: 'on' } });
  }, 60_000);
  afterAll(async () => c?.close());

  it('counts each tenant\'s attempts, processing seconds and cost as its ledger rows add up', async () => {
    for (const id of ['acme', 'globex']) expect((await http('/api/v1/admin/tenants', { id })).status).toBe(201);
    const mk = async (tenant: string) => ((await (await http('/api/v1/admin/keys', { tenant, scopes: ['submit', 'read'] })).json()) as { secret: string }).secret;
    const keys = { acme: await mk('acme'), globex: await mk('globex') };
    expect((await http('/api/v1/admin/prices', { prices: [{ kind: '*', per_request: 0.5, per_second: 2 }] }, ADMIN, 'PUT')).status).toBe(200);
    const ids: string[] = [];
    for (const [tenant, n] of [['acme', 5], ['globex', 3]] as const) {
      for (let i = 0; i < n; i++) {
        const r = await http('/api/v1/tasks', i % 2 ? { kind: 'sleep', input: { ms: 20 } } : { kind: 'echo', input: { text: `${tenant}${i}` } }, keys[tenant]);
        expect(r.status).toBe(202);
        ids.push(((await r.json()) as TaskView).id);
      }
    }
    const rows = await waitFor(() => {
      const all = c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }).filter((r) => ids.includes(r.task_id));
      return all.length === ids.length && all;
    }, 'a ledger row per task', 30_000, 20);
    const s = promSamples(await (await http('/metrics')).text());
    for (const tenant of ['acme', 'globex']) {
      const of = rows.filter((r) => r.tenant === tenant);
      for (const kind of ['echo', 'sleep']) expect(s.get(`taskwire_usage_attempts_total{tenant="${tenant}",kind="${kind}"}`) ?? 0, `${tenant} ${kind}`).toBe(of.filter((r) => r.kind === kind).length);
      const cost = of.reduce((a, r) => a + r.cost, 0);
      expect(cost).toBeGreaterThan(of.length * 0.5 - 1e-9);
      expect(s.get(`taskwire_usage_cost_total{tenant="${tenant}"}`)).toBeCloseTo(cost, 9);
      expect(s.get(`taskwire_usage_processing_seconds_total{tenant="${tenant}"}`)).toBeCloseTo(of.reduce((a, r) => a + r.processing_ms, 0) / 1000, 9);
    }
    expect([...s.keys()].some((k) => k.startsWith('taskwire_usage_tokens_total'))).toBe(false); // no tokens in echo and sleep rows
  }, 60_000);
});
