/**
 * Hard budgets are exact across masters: two real masters at once on one
 * PostgreSQL and one Mosquitto (TASKWIRE_MASTERS=multi), in process, with a
 * real worker. A tenant with a hard budget of 5 (1 per echo task) submits
 * one task at a time, alternately on A and B, each once the one before is in
 * the ledger (nothing in flight): exactly 5 are admitted, then both masters
 * refuse, each reporting the spend of both (each master alone saw 2 or 3 of
 * the 5); its soft budget of 2 warns once, when both together reached 2. A
 * tenant admin's own rules set on A hold on B too, on the shared counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { uniqueId, waitFor } from '../helpers/cluster.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';

const available = postgresAvailable() && mosquittoAvailable();
const ADMIN = 'tw_admin_secret_for_the_budget_exactness_test_0123456';

describe.skipIf(!available)(`hard budgets across two masters${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres;
  let broker: Mosquitto;
  beforeAll(async () => {
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.close(), broker?.close()]);
  });

  it('submits alternating on A and B admit exactly the budget; then both refuse; a tenant admin\'s rules set on A hold on B', { timeout: 120_000 }, async () => {
    const url = await server.createDatabase();
    const topicRoot = uniqueId('tw');
    const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi' as const, mqttUrl: broker.url, topicRoot, adminKey: ADMIN };
    const masters: Master[] = [];
    let worker: Worker | undefined;
    try {
      masters.push(await Master.create({ ...common, masterId: uniqueId('ma') }, { logger: { logger: silentLogger() } }));
      masters.push(await Master.create({ ...common, masterId: uniqueId('mb') }, { logger: { logger: silentLogger() } }));
      const [a, b] = masters.map((m) => `http://127.0.0.1:${m.httpPort}`) as [string, string];
      worker = await Worker.create({ workerId: uniqueId('w'), mqttUrl: broker.url, topicRoot, logToStdout: false, capacity: 4 }, { logger: { logger: silentLogger() } });
      const call = async (base: string, method: string, path: string, key: string, body?: unknown) => {
        const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: r.status, headers: r.headers, body: (await r.json()) as any };
      };
      for (const t of ['acme', 'beta']) expect((await call(a, 'POST', '/api/v1/admin/tenants', ADMIN, { id: t })).status).toBe(201);
      const acme = (await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme' })).body as { secret: string };
      const betaAdmin = (await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'beta', scopes: ['submit', 'read', 'admin'] })).body as { secret: string };
      const betaUser = (await call(a, 'POST', '/api/v1/admin/keys', betaAdmin.secret, { scopes: ['submit', 'read'] })).body as { key: { id: string }; secret: string };
      await waitFor(async () => (await call(b, 'GET', '/api/v1/tasks?limit=1', acme.secret)).status === 200 && (await call(b, 'GET', '/api/v1/tasks?limit=1', betaUser.secret)).status === 200, 'the keys resolve on B', 10_000);

      // 1 EUR per echo task; acme's hard budget: 5 a month. Both set on A, in force on B.
      expect((await call(a, 'PUT', '/api/v1/admin/prices', ADMIN, { currency: 'EUR', prices: [{ kind: 'echo', per_request: 1 }] })).status).toBe(200);
      expect((await call(a, 'PUT', '/api/v1/admin/budgets', ADMIN, { budgets: [{ scope: 'tenant', id: 'acme', period: 'month', soft: 2, hard: 5 }] })).status).toBe(200);
      await waitFor(async () => (await call(b, 'GET', '/api/v1/admin/prices', ADMIN)).body.versions.length === 1 && JSON.stringify((await call(b, 'GET', '/api/v1/admin/budgets', ADMIN)).body).includes('"hard":5'), "A's price and budget on B", 15_000);

      const cost = async () => ((await call(a, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).body as { totals: { cost: number } }).totals.cost;
      const outcomes: string[] = [];
      let admitted = 0;
      for (let i = 0; i < 12 && admitted <= 6; i++) {
        const on = i % 2 ? 'B' : 'A';
        const r = await call(i % 2 ? b : a, 'POST', '/api/v1/tasks', acme.secret, { kind: 'echo', input: { text: `t${i}` } });
        outcomes.push(`${on}:${r.status}`);
        if (r.status !== 202) {
          expect(r.status).toBe(429);
          continue;
        }
        admitted++;
        await waitFor(async () => (await cost()) === admitted, `cost ${admitted} in the ledger`, 30_000);
      }
      expect(admitted, outcomes.join(' ')).toBe(5);
      expect(outcomes.slice(0, 5)).toEqual(['A:202', 'B:202', 'A:202', 'B:202', 'A:202']);
      for (const base of [a, b]) {
        const r = await call(base, 'POST', '/api/v1/tasks', acme.secret, { kind: 'echo', input: { text: 'over' } });
        expect(r.status).toBe(429);
        expect(r.headers.get('x-budget-spent')).toBe('5.000000');
        expect(r.body.error.message).toMatch(/budget exhausted: tenant acme spent 5\.0000 of its 5 EUR budget/);
      }
      // The soft budget: one warning over both masters, when their spend together reached 2 (each master alone reached 2 too, later).
      type Warning = { type: string; scope: string; id: string; spent: number };
      const warnings = async (base: string) => ((await call(base, 'GET', '/api/v1/events?follow=false&since=0&type=budget.warning&limit=100', ADMIN)).body.events as Warning[]).filter((e) => e.scope === 'tenant' && e.id === 'acme');
      await waitFor(async () => (await warnings(b)).length > 0, 'the budget warning', 10_000);
      await new Promise((r) => setTimeout(r, 500)); // a second one from the other master would have landed by now
      expect((await warnings(a)).map((e) => e.spent)).toEqual([2]);
      expect((await warnings(b)).map((e) => e.spent)).toEqual([2]);

      // beta's admin limits its key on A: 2 per 10 minutes; submits alternating on A and B admit exactly 2.
      const set = await call(a, 'PUT', '/api/v1/admin/tenants/beta/limits', betaAdmin.secret, { rules: [{ scope: 'key', id: betaUser.key.id, requests_per_minute: 2, window_s: 600 }] });
      expect(set.status, JSON.stringify(set.body)).toBe(200);
      await waitFor(async () => (await call(b, 'GET', '/api/v1/admin/tenants/beta/limits', betaAdmin.secret)).body.rules.length === 1, "beta's rules on B", 15_000);
      const statuses = await Promise.all(Array.from({ length: 6 }, (_, i) => call(i % 2 ? b : a, 'POST', '/api/v1/tasks', betaUser.secret, { kind: 'echo', input: { text: `b${i}` } }).then((r) => r.status)));
      expect(statuses.filter((s) => s === 202).length).toBe(2);
      expect(statuses.filter((s) => s === 429).length).toBe(4);
    } finally {
      await worker?.close();
      for (const m of masters.reverse()) await m.close();
    }
  });
});
