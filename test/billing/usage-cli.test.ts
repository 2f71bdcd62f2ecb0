/**
 * `taskwire usage report` against a real master (needs `npm run build`): table, JSON and CSV, and a bad --at is exit 2;
 * `taskwire usage prices|budgets show|set` from a file and stdin, a bad body exit 2 naming the field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const group = new ProcessGroup();
const dir = mkdtempSync(join(tmpdir(), 'tw-billing-cli-'));
let c: TestCluster;

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '' } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}

describe('taskwire usage report', () => {
  beforeAll(async () => {
    c = await startCluster({ workers: 1 });
    await fetch(`${c.httpUrl}/api/v1/admin/prices`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prices: [{ kind: 'echo', per_request: 0.25 }] }) });
    for (let i = 0; i < 4; i++) await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: `t${i}` } }) });
    await waitFor(() => c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }).length === 4, 'four rows');
  });
  afterAll(async () => {
    await group.stopAll();
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the table, JSON and CSV of the current month', async () => {
    const text = await cli(['usage', 'report']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^usage \d{4}-\d{2}\nTENANT\s+KEY\s+KIND/);
    expect(text.stdout).toMatch(/^usage \d{4}-\d{2}\nTENANT\s+KEY\s+KIND\s+MODEL\s+ATTEMPTS\s+TOKENS IN\s+TOKENS OUT\s+SECONDS\s+CPU SECONDS\s+GIB-SECONDS\s+MEGAPIXELS\s+COST/);
    // seconds, CPU seconds and GiB-seconds as the TypeScript worker reported them, then megapixels and cost
    expect(text.stdout).toMatch(/\ndefault\s+local\s+echo\s+-\s+4\s+0\s+0\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\.00\s+1\.0000\n/);
    expect(text.stdout).toMatch(/\ntotal\s+4\s/);
    const json = await cli(['usage', 'report', '--period', 'day', '-o', 'json']);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { totals: { attempts: number; cost: number } }).totals).toMatchObject({ attempts: 4, cost: 1 });
    const csv = await cli(['usage', 'report', '-o', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split('\n')).toHaveLength(2);
    expect(csv.stdout).toMatch(/,default,local,echo,,4,/);
  }, 60_000);

  it('a bad --at exits 2 naming the field', async () => {
    const bad = await cli(['usage', 'report', '--at', '2026-13-99']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/at/);
  }, 30_000);

  it('sets and shows the price table and the budgets from a file; a bad body exits 2 naming the field', async () => {
    const prices = join(dir, 'prices.json');
    writeFileSync(prices, JSON.stringify({ currency: 'EUR', prices: [{ kind: 'llm', model: 'gpt-x', per_1k_tokens_in: 0.5, per_1k_tokens_out: 1.5 }, { kind: '*', per_request: 0.01, per_cpu_second: 0.02, per_gb_second: 0.0003 }] }));
    const set = await cli(['usage', 'prices', 'set', prices]);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^prices version 2 in force from \S+ \(2 entries, EUR\)$/);
    const show = await cli(['usage', 'prices', 'show']);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^prices version 2 of 2, in force since .*, in EUR\n  llm model gpt-x: per_1k_tokens_in=0.5 per_1k_tokens_out=1.5\n  \*: per_request=0.01 per_cpu_second=0.02 per_gb_second=0.0003$/);
    const json = await cli(['usage', 'prices', 'show', '-o', 'json']);
    expect((JSON.parse(json.stdout) as { in_force: number }).in_force).toBe(2);
    writeFileSync(prices, JSON.stringify({ prices: [{ kind: '*', per_cpu_second: -1 }] }));
    const badPrice = await cli(['usage', 'prices', 'set', prices]);
    expect(badPrice.code).toBe(2);
    expect(badPrice.stderr).toMatch(/prices\.0\.per_cpu_second/);
    expect(c.master.billing.prices.latest?.version).toBe(2); // no version added

    const budgets = join(dir, 'budgets.json');
    writeFileSync(budgets, JSON.stringify({ budgets: [{ scope: 'tenant', id: 'acme', period: 'month', soft: 80, hard: 100 }, { scope: 'key', period: 'day', hard: 5 }] }));
    const b = await cli(['usage', 'budgets', 'set', budgets]);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe('2 budget(s)\n  tenant acme per month: soft=80 hard=100\n  key (each) per day: hard=5');
    expect(c.master.billing.budgets.budgets.budgets).toHaveLength(2);
    expect((await cli(['usage', 'budgets', 'show'])).stdout).toBe(b.stdout);

    writeFileSync(budgets, JSON.stringify({ budgets: [{ scope: 'tenant', period: 'week', hard: 1 }] }));
    const bad = await cli(['usage', 'budgets', 'set', budgets]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/budgets\.0\.period/);
    writeFileSync(budgets, '{ not json');
    const broken = await cli(['usage', 'budgets', 'set', budgets]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/not valid JSON/);
    expect(c.master.billing.budgets.budgets.budgets).toHaveLength(2); // unchanged
  }, 180_000); // eight CLI processes, each a Node start: seconds apiece on a loaded machine
});
