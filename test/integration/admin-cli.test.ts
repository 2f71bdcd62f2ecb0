/**
 * taskwire admin tenants|users|keys against a real master (dist/cli): create
 * prints the secret once, list never shows it, the key works on REST, rotate
 * replaces it, revoke refuses it; a key without the admin scope gets 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'tw-admin-cli-test-key-2b9e';
const group = new ProcessGroup();
let c: TestCluster;

async function cli(args: string[], key = ADMIN): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: key } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}
const status = async (secret: string) => (await fetch(`${c.httpUrl}/api/v1/tasks/none`, { headers: { authorization: `Bearer ${secret}` } })).status;

beforeAll(async () => {
  c = await startCluster({ workers: 0, master: { apiKeys: [ADMIN] } });
}, 30_000);
afterAll(async () => {
  await group.stopAll();
  await c?.close();
});

describe('taskwire admin', () => {
  it('tenants, users and keys: create, list, rotate, revoke', async () => {
    const t = await cli(['admin', 'tenants', 'create', 'acme', '--name', 'Acme']);
    expect(t.code, t.stderr).toBe(0);
    expect((await cli(['admin', 'tenants', 'list'])).stdout).toMatch(/^acme\s+Acme/m);
    expect((await cli(['admin', 'users', 'create', 'alice', '--tenant', 'acme'])).code).toBe(0);
    const made = await cli(['admin', 'keys', 'create', '--tenant', 'acme', '--user', 'alice', '--scopes', 'submit,read', '-o', 'json']);
    expect(made.code, made.stderr).toBe(0);
    const { key, secret } = JSON.parse(made.stdout) as { key: { id: string }; secret: string };
    expect(await status(secret)).toBe(404); // a valid key (the task does not exist)
    const list = await cli(['admin', 'keys', 'list', '--tenant', 'acme']);
    expect(list.stdout).toContain(key.id);
    expect(list.stdout).not.toContain(secret);
    const table = await cli(['admin', 'keys', 'create', '--tenant', 'acme']);
    expect(table.stdout).toMatch(/secret \(shown once, keep it now\): tw_[A-Za-z0-9_-]{43}$/m);
    const rotated = await cli(['admin', 'keys', 'rotate', key.id, '-o', 'json']);
    const next = (JSON.parse(rotated.stdout) as { secret: string }).secret;
    expect(await status(secret)).toBe(401);
    expect(await status(next)).toBe(404);
    expect((await cli(['admin', 'keys', 'revoke', key.id])).stdout).toMatch(/revoked/);
    expect(await status(next)).toBe(401);
    const denied = await cli(['admin', 'keys', 'list'], (JSON.parse((await cli(['admin', 'keys', 'create', '--tenant', 'acme', '-o', 'json'])).stdout) as { secret: string }).secret);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403 FORBIDDEN/);
    const bad = await cli(['admin', 'keys', 'create', '--tenant', 'acme', '--scopes', 'fly']);
    expect(bad.code).toBe(2); // HTTP 400 naming the field
    expect(bad.stderr).toMatch(/scopes/);
  }, 180_000); // about a dozen CLI processes, each a Node start-up
});
