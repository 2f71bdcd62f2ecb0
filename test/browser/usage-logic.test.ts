/**
 * Unit tests of the usage page's pure logic (no DOM): lines summed per
 * tenant, key and model; budgets with this period's spend, a budget for
 * each tenant expanded as the master applies it (a named one replaces it);
 * the new routes.
 */
import { describe, expect, it } from 'vitest';
import { parseRoute } from '../../web/src/dashboard/routes.js';
import { budgetStatuses, cpuSeconds, emptyTotals, gibSeconds, groupLines, listField, money, type UsageLine, type UsageReportView } from '../../web/src/dashboard/usage-logic.js';

const line = (tenant: string, key: string, kind: string, model: string | null, cost: number, tokens = 0): UsageLine => ({ tenant, key, kind, model, ...emptyTotals(), attempts: 1, cost, tokens_in: tokens });
const report = (period: 'day' | 'month', lines: UsageLine[]): UsageReportView => ({ tenant: null, period, label: 'x', from: '', to: '', currency: 'EUR', totals: emptyTotals(), lines });

describe('groupLines', () => {
  const lines = [line('acme', 'k1', 'llm', 'gpt', 1, 10), line('acme', 'k2', 'llm', 'gpt', 2, 5), line('beta', 'k3', 'echo', null, 0.5), line('acme', 'k1', 'echo', null, 0.25)];

  it('sums per tenant, key and model, biggest cost first; `line` keeps the server lines', () => {
    expect(groupLines(lines, 'line')).toEqual(lines);
    expect(groupLines(lines, 'tenant').map((g) => [g.tenant, g.attempts, g.cost, g.tokens_in])).toEqual([
      ['acme', 3, 3.25, 15],
      ['beta', 1, 0.5, 0],
    ]);
    expect(groupLines(lines, 'key').map((g) => [g.tenant, g.key, g.cost])).toEqual([
      ['acme', 'k2', 2],
      ['acme', 'k1', 1.25],
      ['beta', 'k3', 0.5],
    ]);
    expect(groupLines(lines, 'model').map((g) => [g.kind, g.model, g.cost, g.tenant])).toEqual([
      ['llm', 'gpt', 3, null],
      ['echo', null, 0.75, null],
    ]);
  });

  it('sums the CPU time and memory of the lines; shown as CPU seconds and GiB-seconds', () => {
    const withUse = [
      { ...line('acme', 'k1', 'image', null, 1), cpu_us: 1_500_000, mem_mib_ms: 512_000 },
      { ...line('acme', 'k2', 'image', null, 1), cpu_us: 250_001, mem_mib_ms: 1024 * 1000 },
    ];
    const [acme] = groupLines(withUse, 'tenant');
    expect([acme!.cpu_us, acme!.mem_mib_ms]).toEqual([1_750_001, 512_000 + 1_024_000]);
    expect(cpuSeconds(acme!.cpu_us)).toBe('1.750 s');
    expect(gibSeconds(acme!.mem_mib_ms)).toBe('1.500 GiB\u00b7s');
    expect(gibSeconds(0)).toBe('0.000 GiB\u00b7s');
  });
});

describe('budgetStatuses', () => {
  const day = report('day', [line('acme', 'k1', 'llm', null, 3), line('beta', 'k2', 'llm', null, 1)]);
  const month = report('month', [line('acme', 'k1', 'llm', null, 30), line('beta', 'k2', 'llm', null, 1)]);

  it('a named budget for its tenant, one for each tenant for the others; state from soft and hard', () => {
    const s = budgetStatuses(
      [
        { scope: 'tenant', period: 'day', soft: 2 },
        { scope: 'tenant', id: 'beta', period: 'day', soft: 5, hard: 10 },
        { scope: 'tenant', id: 'acme', period: 'month', hard: 30 },
        { scope: 'key', period: 'month', soft: 0.5 },
      ],
      day,
      month,
    );
    expect(s.map((x) => [x.scope, x.id, x.named, x.period, x.spent, x.state])).toEqual([
      ['tenant', 'acme', false, 'day', 3, 'warning'],
      ['tenant', 'beta', true, 'day', 1, 'ok'],
      ['tenant', 'acme', true, 'month', 30, 'exhausted'],
      ['key', 'k1', false, 'month', 30, 'warning'],
      ['key', 'k2', false, 'month', 1, 'warning'],
    ]);
  });

  it('a named budget without spend shows 0; no report: nothing spent', () => {
    expect(budgetStatuses([{ scope: 'key', id: 'key-new', period: 'day', hard: 1 }], undefined, undefined)).toEqual([
      { scope: 'key', id: 'key-new', named: true, period: 'day', soft: null, hard: 1, spent: 0, state: 'ok' },
    ]);
  });
});

describe('small helpers and routes', () => {
  it('money, lists from a form field, and the new pages in the hash', () => {
    expect(money(1234.5, 'EUR')).toBe('1,234.50 EUR');
    expect(money(0.000125, 'USD')).toBe('0.000125 USD');
    expect(listField(' llm, echo  image ')).toEqual(['llm', 'echo', 'image']);
    expect(listField('  ')).toBeUndefined();
    expect(parseRoute('#/usage?period=day&by=key')).toMatchObject({ page: 'usage' });
    expect(parseRoute('#/usage?period=day&by=key').params.get('by')).toBe('key');
    expect(parseRoute('#/access').page).toBe('access');
    expect(parseRoute('#/limits').page).toBe('limits');
  });
});
