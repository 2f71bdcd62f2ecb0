/**
 * `taskwire store migrate` carries the rooms' tables too (master/postgres-rooms-migrate.ts):
 * a master on SQLite (data dir) makes a tenant and a key over REST, runs
 * tasks under a rate limit counted in limits.db, writing usage rows and
 * events; after the migration a master on PostgreSQL (a fresh data dir)
 * accepts the key, continues the limit window, reports the same usage and
 * resumes the event stream: the copied ids are there and new events get
 * higher ones. A repeated migration copies nothing twice.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyRoomTables, prepareRoomTables } from '../../master/postgres-rooms-migrate.js';
import { migrateStore } from '../../master/store/store-migrate.js';
import { type TestCluster, startCluster, waitFor } from '../helpers/cluster.js';
import { postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';

const available = postgresAvailable();
const ADMIN = 'tw_admin_secret_for_the_migrate_rooms_test_0123456789';
const rooms = { prepare: prepareRoomTables, copy: copyRoomTables };

const call = async (c: TestCluster, method: string, path: string, key: string, body?: unknown): Promise<Response> =>
  fetch(`${c.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
const usage = async (c: TestCluster) => ((await (await call(c, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).json()) as { totals: { attempts: number; bytes_in: number } }).totals;
const events = async (c: TestCluster) => ((await (await call(c, 'GET', '/api/v1/events?follow=false&since=0&limit=1000', ADMIN)).json()) as { events: { id: number; type: string }[]; last_id: number });

describe.skipIf(!available)(`store migrate: the rooms${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, dir } = postgresRoomsFixture();

  it('keys, limit counters, usage and events move with the tasks; ids continue; a repeat copies nothing twice', async () => {
    const rateLimits = JSON.stringify([{ scope: 'tenant', requests_per_minute: 4, window_s: 600 }]);
    const sqliteDir = dir('tw-mig-rooms-sqlite-');
    const a = await startCluster({ workers: 1, master: { dataDir: sqliteDir, adminKey: ADMIN, rateLimits, limitsStore: 'sqlite' } });
    let secret: string;
    let before: { attempts: number; bytes_in: number };
    let lastId: number;
    try {
      expect((await call(a, 'POST', '/api/v1/admin/tenants', ADMIN, { id: 'acme' })).status).toBe(201);
      secret = ((await (await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme' })).json()) as { secret: string }).secret;
      // acme's admin limits its tenant's keys (tenant-limits.json) and sets a budget (tenant-budgets.json).
      const acmeAdmin = ((await (await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['read', 'admin'] })).json()) as { secret: string }).secret;
      expect((await call(a, 'PUT', '/api/v1/admin/tenants/acme/limits', acmeAdmin, { rules: [{ scope: 'key', concurrent_tasks: 9 }] })).status).toBe(200);
      expect((await call(a, 'PUT', '/api/v1/admin/tenants/acme/budgets', acmeAdmin, { budgets: [{ scope: 'key', period: 'day', soft: 7 }] })).status).toBe(200);
      // A cluster operator's placement change (runtime-settings.json): the cluster's setting on PostgreSQL.
      expect((await call(a, 'PUT', '/api/v1/placement/echo', ADMIN, { strategy: 'round-robin' })).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await call(a, 'POST', '/api/v1/tasks', secret, { kind: 'echo', input: { text: `s${i}` } })).status).toBe(202);
      before = await waitFor(async () => {
        const u = await usage(a);
        return u.attempts === 3 && u;
      }, 'three usage rows', 20_000);
      lastId = (await waitFor(async () => {
        const e = await events(a);
        return e.events.filter((x) => x.type === 'task.succeeded').length === 3 && e;
      }, 'three task.succeeded events', 20_000)).last_id;
    } finally {
      await a.close();
    }

    const url = await server().createDatabase();
    const r = await migrateStore({ from: sqliteDir, to: url, rooms });
    expect(r.rooms).toMatchObject({ tenants: 1, keys: 3, usage_rows: 3, tenant_settings: 2, placement_settings: 1 });
    const copiedEvents = r.rooms!.events!;
    expect(copiedEvents).toBeGreaterThanOrEqual(lastId); // and the events of its shutdown
    expect(r.rooms!.limit_counters).toBeGreaterThanOrEqual(1);
    const again = await migrateStore({ from: sqliteDir, to: url, rooms });
    expect(again.repeated).toBe(true);

    const b = await startCluster({ workers: 1, master: { store: url, dataDir: dir('tw-mig-rooms-pg-'), adminKey: ADMIN, rateLimits } });
    try {
      expect(await usage(b)).toEqual(before); // the same report; the repeat added no row
      expect(b.master.limits.tenantLimits('acme').rules).toEqual([{ scope: 'key', concurrent_tasks: 9 }]);
      expect(b.master.billing.budgets.tenantBudgetsOf('acme').budgets).toEqual([{ scope: 'key', period: 'day', soft: 7 }]);
      expect(b.master.placement.config).toMatchObject({ echo: 'round-robin' });
      const copied = await events(b);
      expect(copied.events.filter((e) => e.id <= copiedEvents).map((e) => e.id)).toEqual(Array.from({ length: copiedEvents }, (_, i) => i + 1));
      // Each task event keeps its owner column: the key's own stream on PostgreSQL holds its three tasks' events.
      const own = await queryRows<{ n: string }>(url, "SELECT count(*) AS n FROM tw_events WHERE owner IS NOT NULL AND type = 'task.succeeded'");
      expect(Number(own[0]!.n)).toBe(3);
      // The key works; the window the SQLite master counted 3 of 4 in has 1 left.
      expect((await call(b, 'POST', '/api/v1/tasks', secret, { kind: 'echo', input: { text: 'p0' } })).status).toBe(202);
      expect((await call(b, 'POST', '/api/v1/tasks', secret, { kind: 'echo', input: { text: 'p1' } })).status).toBe(429);
      const later = await waitFor(async () => {
        const e = await events(b);
        return e.events.some((x) => x.type === 'task.succeeded' && x.id > copiedEvents) && e;
      }, 'the new task succeeded on the PostgreSQL master', 20_000);
      const ids = later.events.map((e) => e.id);
      for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
      expect(ids.filter((id) => id > copiedEvents).length).toBeGreaterThan(0);
    } finally {
      await b.close();
    }
  });
});
