/** `taskwire limits show | set | reset` against a real master (needs `npm run build`). */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const group = new ProcessGroup();
const dir = mkdtempSync(join(tmpdir(), 'tw-limits-cli-'));
let c: TestCluster;

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '' } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}

describe('taskwire limits', () => {
  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { rateLimits: JSON.stringify([{ scope: 'key', requests_per_minute: 100 }]) } });
  });
  afterAll(async () => {
    await group.stopAll();
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows, sets from a file and resets the limits; bad rules exit 2 naming the field', async () => {
    const shown = await cli(['limits', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^limits from TASKWIRE_RATE_LIMITS: 1 rule\(s\)\n {2}key \(each\): requests_per_minute=100$/);
    const file = join(dir, 'limits.json');
    writeFileSync(file, JSON.stringify([{ scope: 'tenant', id: 'acme', model: 'm1', tokens_per_day: 5000 }]));
    const set = await cli(['limits', 'set', file, '-o', 'json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ source: 'admin', rules: [{ scope: 'tenant', id: 'acme', model: 'm1', tokens_per_day: 5000 }] });
    expect(c.master.limits.limits.rules).toHaveLength(1);
    writeFileSync(file, JSON.stringify({ rules: [{ scope: 'key', requests_per_minute: 0 }] }));
    const bad = await cli(['limits', 'set', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/rules\.0\.requests_per_minute/);
    const reset = await cli(['limits', 'reset']);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/^limits from TASKWIRE_RATE_LIMITS: 1 rule/);
  }, 60_000);
});
