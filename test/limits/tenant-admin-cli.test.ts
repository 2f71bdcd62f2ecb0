/**
 * `taskwire limits … --tenant T` and `taskwire usage budgets … --tenant T` with a
 * tenant admin's key, against a real master (needs `npm run build`): show, set
 * from a file, reset; above the cluster admin's cap exit 2 naming the field;
 * another tenant exit 3 (404).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'tw-tenant-admin-cli-admin-key-9d2e';
const group = new ProcessGroup();
const dir = mkdtempSync(join(tmpdir(), 'tw-tenant-admin-cli-'));
let c: TestCluster;
let acmeAdmin = '';

async function cli(args: string[], key = acmeAdmin): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: key } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}

const rest = async (method: string, path: string, body?: unknown) =>
  (await fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json() as Promise<any>;

describe('taskwire limits and usage budgets --tenant', () => {
  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { apiKeys: [ADMIN] } });
    for (const id of ['acme', 'globex']) await rest('POST', '/api/v1/admin/tenants', { id });
    acmeAdmin = (await rest('POST', '/api/v1/admin/keys', { tenant: 'acme', scopes: ['read', 'admin'] })).secret;
    await rest('PUT', '/api/v1/admin/limits', { rules: [{ scope: 'tenant', id: 'acme', requests_per_minute: 100 }] });
    await rest('PUT', '/api/v1/admin/budgets', { budgets: [{ scope: 'tenant', id: 'acme', period: 'month', hard: 50 }] });
  });
  afterAll(async () => {
    await group.stopAll();
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a tenant admin shows, sets and resets its own limits within the cluster admin's caps", async () => {
    const file = join(dir, 'limits.json');
    writeFileSync(file, JSON.stringify([{ scope: 'key', requests_per_minute: 20 }]));
    const set = await cli(['limits', 'set', file, '--tenant', 'acme']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('limits of tenant acme set by its admin: 1 rule(s)\n  key (each): requests_per_minute=20\ncaps set by the cluster admin: 1 rule(s)\n  tenant acme: requests_per_minute=100');
    expect(c.master.limits.tenantLimits('acme').rules).toEqual([{ scope: 'key', requests_per_minute: 20 }]);
    writeFileSync(file, JSON.stringify([{ scope: 'key', requests_per_minute: 200 }]));
    const over = await cli(['limits', 'set', file, '--tenant', 'acme']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/rules\.0\.requests_per_minute: 200 per 60 s is above the cap of 100/);
    expect((await cli(['limits', 'show', '--tenant', 'globex'])).code).toBe(3);
    expect((await cli(['limits', 'show'])).code).toBe(1); // the cluster-wide rules: 403
    const reset = await cli(['limits', 'reset', '--tenant', 'acme', '-o', 'json']);
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ tenant: 'acme', rules: [] });
  }, 60_000);

  it('a tenant admin shows and sets its own budgets', async () => {
    const file = join(dir, 'budgets.json');
    writeFileSync(file, JSON.stringify({ budgets: [{ scope: 'key', period: 'day', hard: 5 }] }));
    const set = await cli(['usage', 'budgets', 'set', file, '--tenant', 'acme']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('budgets of tenant acme set by its admin: 1 budget(s)\n  key (each) per day: hard=5\ncaps set by the cluster admin: 1 budget(s)\n  tenant acme per month: hard=50');
    writeFileSync(file, JSON.stringify({ budgets: [{ scope: 'tenant', period: 'month', hard: 51 }] }));
    const over = await cli(['usage', 'budgets', 'set', file, '--tenant', 'acme']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/budgets\.0\.hard/);
    const shown = await cli(['usage', 'budgets', 'show', '--tenant', 'acme', '-o', 'json']);
    expect(JSON.parse(shown.stdout).budgets).toEqual([{ scope: 'key', period: 'day', hard: 5 }]);
  }, 60_000);
});
