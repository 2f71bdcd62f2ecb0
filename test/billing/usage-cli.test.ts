/** `taskwire usage report` against a real master (needs `npm run build`): table, JSON and CSV, and a bad --at is exit 2. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const group = new ProcessGroup();
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
  });

  it('prints the table, JSON and CSV of the current month', async () => {
    const text = await cli(['usage', 'report']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^usage \d{4}-\d{2}\nTENANT\s+KEY\s+KIND/);
    expect(text.stdout).toMatch(/\ndefault\s+local\s+echo\s+-\s+4\s+0\s+0\s+[\d.]+\s+0\.00\s+1\.0000\n/);
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
});
