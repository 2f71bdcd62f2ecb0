/**
 * Admin changes are audited and cluster-wide settings are a cluster admin's,
 * on a real master over REST:
 * - creating a tenant, a user and a key, rotating and revoking it, and
 *   setting limits, prices and budgets each leave a `config.changed` event
 *   (who, role, what, the tenant concerned, before, after) with no secret;
 * - a tenant's admin key manages its own tenant's keys (audited, visible to
 *   that tenant on the event stream) but may neither read nor change the
 *   limits, prices or budgets every tenant is held to (403).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from '../helpers/cluster.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;
interface AuditEvent {
  tenant: string;
  actor: string;
  role: string;
  target: string;
  scope: string;
  before: unknown;
  after: unknown;
}

describe('admin audit and cluster-wide settings', () => {
  let c: Cluster;
  const ADMIN = 'audit-admin-key-0123456789abcdef';
  const http = (path: string, body?: unknown, key = ADMIN, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const audit = async (key = ADMIN) => ((await (await http('/api/v1/events?follow=false&since=0&type=config.changed&limit=1000', undefined, key)).json()) as { events: AuditEvent[] }).events;

  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { apiKeys: [`admin:${ADMIN}`] } });
  }, 60_000);
  afterAll(async () => c?.close());

  it('every access, limits, prices and budgets change is a config.changed event, without secrets', async () => {
    expect((await http('/api/v1/admin/tenants', { id: 'acme', name: 'Acme' })).status).toBe(201);
    expect((await http('/api/v1/admin/users', { id: 'alice', tenant: 'acme' })).status).toBe(201);
    const created = (await (await http('/api/v1/admin/keys', { tenant: 'acme', user: 'alice', scopes: ['submit', 'read'] })).json()) as { key: { id: string }; secret: string };
    const rotated = (await (await http(`/api/v1/admin/keys/${created.key.id}/rotate`, {})).json()) as { secret: string };
    expect((await http(`/api/v1/admin/keys/${created.key.id}/revoke`, {})).status).toBe(200);
    expect((await http('/api/v1/admin/limits', { rules: [{ scope: 'tenant', id: 'acme', requests_per_minute: 100 }] }, ADMIN, 'PUT')).status).toBe(200);
    expect((await http('/api/v1/admin/prices', { prices: [{ kind: 'echo', per_request: 0.01 }] }, ADMIN, 'PUT')).status).toBe(200);
    expect((await http('/api/v1/admin/budgets', { budgets: [{ scope: 'tenant', id: 'acme', period: 'month', hard: 10 }] }, ADMIN, 'PUT')).status).toBe(200);
    const events = await audit();
    expect(events.map((e) => [e.target, e.scope, e.tenant])).toEqual([
      ['tenant', 'acme', 'acme'],
      ['user', 'acme', 'acme'],
      ['key', 'acme', 'acme'],
      ['key', 'acme', 'acme'],
      ['key', 'acme', 'acme'],
      ['limits', 'default', 'default'],
      ['prices', 'default', 'default'],
      ['budgets', 'default', 'default'],
    ]);
    const actor = events[0]!.actor;
    expect(actor).toMatch(/^key-/);
    expect(events.every((e) => e.actor === actor && e.role === 'admin')).toBe(true);
    expect(events[2]).toMatchObject({ before: null, after: { id: created.key.id, status: 'active' } });
    expect(events[4]).toMatchObject({ before: { status: 'active' }, after: { id: created.key.id, status: 'revoked' } });
    expect(events[5]).toMatchObject({ before: { rules: [] }, after: { rules: [{ scope: 'tenant', id: 'acme', requests_per_minute: 100 }] } });
    const text = JSON.stringify(events);
    for (const secret of [created.secret, rotated.secret, ADMIN]) expect(text).not.toContain(secret);
  }, 60_000);

  it("a tenant's admin manages its own keys, audited for its tenant, but not the cluster-wide limits, prices or budgets", async () => {
    await http('/api/v1/admin/tenants', { id: 'beta' });
    const betaAdmin = (await (await http('/api/v1/admin/keys', { tenant: 'beta', scopes: ['submit', 'read', 'operate', 'admin'] })).json()) as { key: { id: string }; secret: string };
    for (const path of ['/api/v1/admin/limits', '/api/v1/admin/prices', '/api/v1/admin/budgets']) {
      const read = await http(path, undefined, betaAdmin.secret);
      expect(read.status).toBe(403);
      expect(((await read.json()) as { error: { message: string } }).error.message).toMatch(/cluster-wide setting/);
    }
    expect((await http('/api/v1/admin/limits', { rules: [] }, betaAdmin.secret, 'PUT')).status).toBe(403);
    expect((await http('/api/v1/admin/limits', undefined, betaAdmin.secret, 'DELETE')).status).toBe(403);
    expect((await http('/api/v1/admin/prices', { prices: [] }, betaAdmin.secret, 'PUT')).status).toBe(403);
    expect((await http('/api/v1/admin/budgets', { budgets: [] }, betaAdmin.secret, 'PUT')).status).toBe(403);
    // Nothing changed: the cluster admin's settings stand.
    expect(((await (await http('/api/v1/admin/prices')).json()) as { versions: unknown[] }).versions).toHaveLength(1);
    // Its own tenant's keys: allowed, audited, and the audit is visible to the tenant (its events only).
    const own = await http('/api/v1/admin/keys', { scopes: ['submit'] }, betaAdmin.secret);
    expect(own.status).toBe(201);
    const seen = await audit(betaAdmin.secret);
    expect(seen.map((e) => [e.target, e.tenant, e.actor])).toEqual([
      ['tenant', 'beta', expect.stringMatching(/^key-/)],
      ['key', 'beta', expect.stringMatching(/^key-/)],
      ['key', 'beta', betaAdmin.key.id],
    ]);
  }, 60_000);
});
