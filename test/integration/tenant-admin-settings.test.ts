/**
 * A tenant's admin sets its own tenant's limits and budgets, on a real master
 * (port 0, SQLite data dir) with a real worker, over REST:
 * - the routes × {own tenant's admin, another tenant's admin, a key of the
 *   tenant without the admin scope, no key} (200 / 404 / 403 / 401), and a
 *   cluster admin for any tenant;
 * - never above a cap the cluster admin set (400 naming the field), never for
 *   another tenant's key (400 naming `id`);
 * - what it sets is enforced on submits (429), in addition to the cluster
 *   admin's rules, and only for its tenant;
 * - each change is a `config.changed` audit event of the tenant, seen by that
 *   tenant and not by another; the settings survive a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'tw-tenant-admin-settings-admin-key-51c0';

let c: TestCluster;
let dataDir: string;
type Made = { key: { id: string }; secret: string };
const k: Record<'acmeAdmin' | 'acmeUser' | 'acmeUser2' | 'acmeOperator' | 'globexAdmin' | 'globexUser', Made> = {} as never;

async function call(method: string, path: string, secret: string | undefined, body?: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${c.httpUrl}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(secret && { authorization: `Bearer ${secret}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const startMaster = async () => {
  c = await startCluster({ workers: 1, master: { apiKeys: [ADMIN], dataDir } });
};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'taskwire-tenant-admin-'));
  await startMaster();
  for (const t of ['acme', 'globex']) expect((await call('POST', '/api/v1/admin/tenants', ADMIN, { id: t })).status).toBe(201);
  const mk = async (tenant: string, scopes: string[]) => (await call('POST', '/api/v1/admin/keys', ADMIN, { tenant, scopes })).body as Made;
  k.acmeAdmin = await mk('acme', ['submit', 'read', 'operate', 'admin']);
  k.acmeUser = await mk('acme', ['submit', 'read']);
  k.acmeUser2 = await mk('acme', ['submit', 'read']);
  k.acmeOperator = await mk('acme', ['submit', 'read', 'operate']);
  k.globexAdmin = await mk('globex', ['submit', 'read', 'operate', 'admin']);
  k.globexUser = await mk('globex', ['submit', 'read']);
  // The cluster admin's caps for acme: 10 requests per 10 minutes, a hard budget of 100 a month.
  expect((await call('PUT', '/api/v1/admin/limits', ADMIN, { rules: [{ scope: 'tenant', id: 'acme', requests_per_minute: 10, window_s: 600 }] })).status).toBe(200);
  expect((await call('PUT', '/api/v1/admin/budgets', ADMIN, { budgets: [{ scope: 'tenant', id: 'acme', period: 'month', hard: 100 }] })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await c?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a tenant admin's own limits and budgets × {own admin, other admin, no admin scope, no key}", () => {
  const who = () => ({ own: k.acmeAdmin.secret, other: k.globexAdmin.secret, noAdmin: k.acmeOperator.secret, none: undefined });
  const expected = { own: 200, other: 404, noAdmin: 403, none: 401 } as const;
  for (const room of ['limits', 'budgets'] as const) {
    const body = room === 'limits' ? { rules: [{ scope: 'tenant', concurrent_tasks: 50 }] } : { budgets: [{ scope: 'tenant', period: 'month', soft: 50 }] };
    for (const [method, sent] of [['GET', undefined], ['PUT', body]] as const) {
      it.each(['other', 'noAdmin', 'none', 'own'] as const)(`${method} /api/v1/admin/tenants/acme/${room}: %s`, async (w) => {
        const r = await call(method, `/api/v1/admin/tenants/acme/${room}`, who()[w], sent);
        expect(r.status, JSON.stringify(r.body)).toBe(expected[w]);
        if (w === 'other') expect(r.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'no tenant acme' }); // as for a tenant that does not exist
        if (w === 'own') {
          expect(r.body.tenant).toBe('acme');
          // The caps: the cluster admin's rules for acme (read-only here).
          expect(JSON.stringify(r.body.caps)).toContain(room === 'limits' ? '"requests_per_minute":10' : '"hard":100');
          if (method === 'PUT') expect(r.body[room === 'limits' ? 'rules' : 'budgets'][0]).toMatchObject({ scope: 'tenant', id: 'acme' });
        }
      });
    }
  }

  it('a cluster admin reads and sets any tenant\'s; an unknown tenant is 404', async () => {
    expect((await call('GET', '/api/v1/admin/tenants/globex/limits', ADMIN)).status).toBe(200);
    expect((await call('GET', '/api/v1/admin/tenants/nope/budgets', ADMIN)).status).toBe(404);
    // The cluster-wide settings stay a cluster admin's.
    expect((await call('GET', '/api/v1/admin/limits', k.acmeAdmin.secret)).status).toBe(403);
    expect((await call('PUT', '/api/v1/admin/budgets', k.acmeAdmin.secret, { budgets: [] })).status).toBe(403);
  });

  it('never above the cluster admin\'s cap, never another tenant\'s key: a 400 names the field', async () => {
    const over = await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'key', id: k.acmeUser.key.id, requests_per_minute: 20, window_s: 600 }] });
    expect([over.status, over.body.error.field]).toEqual([400, 'rules.0.requests_per_minute']);
    expect(over.body.error.message).toMatch(/cap of 10 per 600 s the cluster admin set for tenant acme/);
    // The same count in a shorter window is a higher rate: refused too.
    const faster = await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'tenant', requests_per_minute: 5, window_s: 60 }] });
    expect([faster.status, faster.body.error.field]).toEqual([400, 'rules.0.requests_per_minute']);
    const theirs = await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'key', id: k.globexUser.key.id, requests_per_minute: 1 }] });
    expect([theirs.status, theirs.body.error.field]).toEqual([400, 'rules.0.id']);
    const otherTenant = await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'tenant', id: 'globex', requests_per_minute: 1 }] });
    expect([otherTenant.status, otherTenant.body.error.field]).toEqual([400, 'rules.0.id']);
    const bad = await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'key', requests_per_minute: -1 }] });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'rules.0.requests_per_minute']);
    const budgetOver = await call('PUT', '/api/v1/admin/tenants/acme/budgets', k.acmeAdmin.secret, { budgets: [{ scope: 'key', period: 'day', soft: 10, hard: 101 }] });
    expect([budgetOver.status, budgetOver.body.error.field]).toEqual([400, 'budgets.0.hard']);
    const softOver = await call('PUT', '/api/v1/admin/tenants/acme/budgets', k.acmeAdmin.secret, { budgets: [{ scope: 'tenant', period: 'month', soft: 150 }] });
    expect([softOver.status, softOver.body.error.field]).toEqual([400, 'budgets.0.soft']);
    // Nothing of the refused PUTs is in force.
    expect((await call('GET', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret)).body.rules).toEqual([{ scope: 'tenant', id: 'acme', concurrent_tasks: 50 }]);
  });

  it('its key limit is enforced (429) for that key only, in addition to the cluster cap', async () => {
    const set = await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'key', id: k.acmeUser.key.id, requests_per_minute: 3, window_s: 600 }] });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('POST', '/api/v1/tasks', k.acmeUser.secret, { kind: 'echo', input: { text: `u${i}` } })).status);
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    const refused = await call('POST', '/api/v1/tasks', k.acmeUser.secret, { kind: 'echo', input: { text: 'again' } });
    expect(refused.headers.get('ratelimit-policy')).toMatch(/^"key-rpm";q=3;w=600/);
    // Another key of acme: only the cluster's tenant cap (10; 3 used) holds.
    const other: number[] = [];
    for (let i = 0; i < 8; i++) other.push((await call('POST', '/api/v1/tasks', k.acmeUser2.secret, { kind: 'echo', input: { text: `v${i}` } })).status);
    expect(other).toEqual([202, 202, 202, 202, 202, 202, 202, 429]);
    // globex is not limited by acme's rules.
    expect((await call('POST', '/api/v1/tasks', k.globexUser.secret, { kind: 'echo', input: { text: 'g' } })).status).toBe(202);
  });

  it('its key budget is enforced: a hard budget refuses that key once reached, with the budget headers', async () => {
    expect((await call('PUT', '/api/v1/admin/prices', ADMIN, { currency: 'EUR', prices: [{ kind: 'echo', per_request: 1 }] })).status).toBe(200);
    const key = (await call('POST', '/api/v1/admin/keys', k.acmeAdmin.secret, { scopes: ['submit', 'read'] })).body as Made;
    const set = await call('PUT', '/api/v1/admin/tenants/acme/budgets', k.acmeAdmin.secret, { budgets: [{ scope: 'key', id: key.key.id, period: 'day', hard: 2 }] });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    // Raise acme's limit so only the budget refuses.
    expect((await call('PUT', '/api/v1/admin/limits', ADMIN, { rules: [] })).status).toBe(200);
    const spent = async () => ((await call('GET', '/api/v1/usage?period=day', ADMIN)).body.lines as { key: string; cost: number }[]).filter((l) => l.key === key.key.id).reduce((s, l) => s + l.cost, 0);
    for (let i = 0; i < 2; i++) {
      const r = await call('POST', '/api/v1/tasks', key.secret, { kind: 'echo', input: { text: `b${i}` } });
      expect(r.status).toBe(202);
      await waitFor(async () => (await spent()) === i + 1, `cost ${i + 1} in the ledger`, 20_000);
    }
    const refused = await call('POST', '/api/v1/tasks', key.secret, { kind: 'echo', input: { text: 'over' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-budget-limit')).toBe('2');
    expect(refused.body.error.message).toMatch(/budget exhausted: key key-/);
    // Another acme key is not held to that key's budget.
    expect((await call('POST', '/api/v1/tasks', k.acmeUser2.secret, { kind: 'echo', input: { text: 'fine' } })).status).toBe(202);
  }, 60_000);

  it('each change is a config.changed event of the tenant, by its admin; another tenant does not see it', async () => {
    type Ev = { tenant: string; actor: string; target: string; scope: string; after: any };
    const events = async (secret: string) => ((await call('GET', '/api/v1/events?follow=false&since=0&type=config.changed&limit=1000', secret)).body.events as Ev[]);
    const mine = (await events(k.acmeAdmin.secret)).filter((e) => e.actor === k.acmeAdmin.key.id && (e.target === 'limits' || e.target === 'budgets'));
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine.every((e) => e.tenant === 'acme' && e.scope === 'acme')).toBe(true);
    expect(mine.map((e) => e.target)).toEqual(expect.arrayContaining(['limits', 'budgets']));
    expect(mine.find((e) => e.target === 'limits' && JSON.stringify(e.after).includes(k.acmeUser.key.id))).toBeDefined();
    expect((await events(k.globexAdmin.secret)).filter((e) => e.tenant === 'acme')).toEqual([]);
  });

  it('DELETE removes its limits; the settings survive a restart', async () => {
    const budgets = (await call('GET', '/api/v1/admin/tenants/acme/budgets', k.acmeAdmin.secret)).body.budgets;
    expect(budgets).toHaveLength(1);
    expect((await call('PUT', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret, { rules: [{ scope: 'key', concurrent_tasks: 7 }] })).status).toBe(200);
    await c.close();
    await startMaster();
    expect((await call('GET', '/api/v1/admin/tenants/acme/budgets', k.acmeAdmin.secret)).body.budgets).toEqual(budgets);
    expect((await call('GET', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret)).body.rules).toEqual([{ scope: 'key', concurrent_tasks: 7 }]);
    expect((await call('DELETE', '/api/v1/admin/tenants/acme/limits', k.acmeAdmin.secret)).body.rules).toEqual([]);
    expect((await call('DELETE', '/api/v1/admin/tenants/acme/limits', k.globexAdmin.secret)).status).toBe(404);
  }, 60_000);
});
