/**
 * Workers pinned to tenants (TASKWIRE_WORKER_TENANTS, the `taskwire.tenants`
 * status label): a pinned worker only gets its tenants' tasks, a shared one
 * gets everyone's; a worker without the label (an old worker) is shared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workerOptionsFromEnv } from '../../worker/config.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'tw-tenant-pinning-admin-key-51c0';
let c: TestCluster;
const key: Record<string, string> = {};

async function call(method: string, path: string, secret: string, body?: unknown): Promise<any> {
  const res = await fetch(`${c.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

const submit = async (tenant: string) => (await call('POST', '/api/v1/tasks', key[tenant]!, { kind: 'echo', input: { text: tenant } })).id as string;
const task = (id: string, tenant: string) => call('GET', `/api/v1/tasks/${id}`, key[tenant]!);

beforeAll(async () => {
  c = await startCluster({ workers: 0, master: { apiKeys: [ADMIN] } });
  for (const t of ['acme', 'globex']) {
    await call('POST', '/api/v1/admin/tenants', ADMIN, { id: t });
    key[t] = (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant: t })).secret;
  }
}, 30_000);

afterAll(async () => {
  await c?.close();
});

describe('tenant-pinned workers', () => {
  it('TASKWIRE_WORKER_TENANTS is validated and becomes the taskwire.tenants label', async () => {
    expect((await workerOptionsFromEnv({ TASKWIRE_WORKER_TENANTS: 'acme, globex' })).tenants).toEqual(['acme', 'globex']);
    await expect(workerOptionsFromEnv({ TASKWIRE_WORKER_TENANTS: 'Bad Name' })).rejects.toThrow(/TASKWIRE_WORKER_TENANTS/);
  });

  it('a worker pinned to acme runs acme tasks only; globex waits for a shared worker', async () => {
    const pinned = await c.addWorker({ tenants: ['acme'] });
    await waitFor(() => c.master.registry.schedulable().some((w) => w.tenants?.has('acme')), 'pinned worker online');
    const g = await submit('globex');
    const a = await submit('acme');
    await waitFor(async () => (await task(a, 'acme')).status === 'succeeded', 'acme task ran');
    expect((await task(a, 'acme')).worker_id).toBe(pinned.options.workerId);
    await new Promise((r) => setTimeout(r, 300));
    expect((await task(g, 'globex')).status).toBe('queued'); // the only worker is acme's
    const shared = await c.addWorker({}); // no label: shared (as every worker before pinning)
    await waitFor(async () => (await task(g, 'globex')).status === 'succeeded', 'globex task ran on the shared worker');
    expect((await task(g, 'globex')).worker_id).toBe(shared.options.workerId);
  }, 30_000);
});
