/**
 * Budget warnings carry the tenant (and key) whose budget it is, on a real
 * master with a real worker: a tenant budget's and a key budget's warning
 * both have the spending tenant, the key budget's names the key; that
 * tenant's keys see them on the event stream, another tenant's keys do not,
 * a cluster admin sees them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

describe('budget warnings', () => {
  let c: Cluster;
  const ADMIN = 'budget-warn-admin-key-0123456789';
  const http = (path: string, body?: unknown, key = ADMIN, method = body === undefined ? 'GET' : 'POST') =>
    fetch(`${c.httpUrl}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const done = (id: string, key = ADMIN) =>
    waitFor(async () => {
      const v = (await (await http(`/api/v1/tasks/${id}`, undefined, key)).json()) as TaskView;
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(v.status) && v;
    }, `task ${id} done`, 60_000);

  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { apiKeys: [`admin:${ADMIN}`] } });
  }, 60_000);
  afterAll(async () => c?.close());

  it('a budget warning carries the tenant and key whose budget it is; only that tenant sees it', async () => {
    expect((await http('/api/v1/admin/tenants', { id: 'acme' })).status).toBe(201);
    expect((await http('/api/v1/admin/tenants', { id: 'other' })).status).toBe(201);
    const mk = async (tenant: string) => ((await (await http('/api/v1/admin/keys', { tenant, scopes: ['submit', 'read', 'operate'] })).json()) as { key: { id: string }; secret: string });
    const acme = await mk('acme');
    const other = await mk('other');
    const warnings: { tenant: string; scope: string; id: string; key: string | null }[] = [];
    const off = c.master.tasks.events.on('budget.warning', (ev) => void warnings.push(ev));
    try {
      expect((await http('/api/v1/admin/prices', { prices: [{ kind: 'echo', per_request: 1 }] }, ADMIN, 'PUT')).status).toBe(200);
      const budgets = [
        { scope: 'tenant', id: 'acme', period: 'day', soft: 0.5 },
        { scope: 'key', period: 'day', soft: 0.5 },
      ];
      expect((await http('/api/v1/admin/budgets', { budgets }, ADMIN, 'PUT')).status).toBe(200);
      const r = await http('/api/v1/tasks', { kind: 'echo', input: { text: 'spend' } }, acme.secret);
      expect(r.status).toBe(202);
      await done(((await r.json()) as { id: string }).id, acme.secret);
      await waitFor(() => warnings.length === 2, 'two budget warnings');
      const byScope = Object.fromEntries(warnings.map((w) => [w.scope, w]));
      expect(byScope['tenant']).toMatchObject({ tenant: 'acme', scope: 'tenant', id: 'acme', key: null });
      expect(byScope['key']).toMatchObject({ tenant: 'acme', scope: 'key', id: acme.key.id, key: acme.key.id });
      const seen = async (key: string) =>
        ((await (await http('/api/v1/events?follow=false&since=0&type=budget.warning', undefined, key)).json()) as { events: { tenant: string; id: string }[] }).events;
      await waitFor(async () => (await seen(acme.secret)).length === 2, "acme's key sees both warnings");
      expect((await seen(acme.secret)).every((e) => e.tenant === 'acme')).toBe(true);
      expect(await seen(other.secret)).toEqual([]);
      expect((await seen(ADMIN)).length).toBe(2);
    } finally {
      off();
      await http('/api/v1/admin/budgets', { budgets: [] }, ADMIN, 'PUT');
    }
  }, 90_000);
});
