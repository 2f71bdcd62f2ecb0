/**
 * A real master on PostgreSQL (TASKWIRE_STORE) keeps its rooms' tables there
 * too (master/postgres-rooms.ts): a key created over the admin REST API, the
 * limit counters, the usage ledger and the event stream are in the shared
 * database, not in the data dir, so the next master on that database (no
 * data dir of its own) carries on with them: the key resolves, the limit
 * window continues, the usage report is the same, and the event stream
 * resumes with `Last-Event-ID` where the first master's ids stopped.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TestCluster, startCluster, waitFor } from '../helpers/cluster.js';
import { postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';

const available = postgresAvailable();
const ADMIN = 'tw_admin_secret_for_the_rooms_test_0123456789abcdef';

async function call(c: TestCluster, method: string, path: string, key: string, body?: unknown): Promise<Response> {
  return fetch(`${c.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The events of a non-following page after `since`. */
async function eventsAfter(c: TestCluster, since: number): Promise<{ events: { id: number; type: string; task_id?: string }[]; last_id: number }> {
  const r = await call(c, 'GET', `/api/v1/events?follow=false&since=${since}&limit=1000`, ADMIN);
  expect(r.status).toBe(200);
  return (await r.json()) as { events: { id: number; type: string; task_id?: string }[]; last_id: number };
}

/** SSE from Last-Event-ID until `want` events arrived. */
async function sseFrom(c: TestCluster, lastEventId: number, want: number): Promise<number[]> {
  const ac = new AbortController();
  const r = await fetch(`${c.httpUrl}/api/v1/events`, { headers: { authorization: `Bearer ${ADMIN}`, 'last-event-id': String(lastEventId) }, signal: ac.signal });
  const reader = r.body!.getReader();
  const ids: number[] = [];
  let text = '';
  try {
    while (ids.length < want) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
      let i: number;
      while ((i = text.indexOf('\n\n')) >= 0) {
        const m = /^id: (\d+)$/m.exec(text.slice(0, i));
        if (m) ids.push(Number(m[1]));
        text = text.slice(i + 2);
      }
    }
  } finally {
    ac.abort();
  }
  return ids;
}

describe.skipIf(!available)(`a master's rooms on PostgreSQL${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, dir: tempDir } = postgresRoomsFixture();

  it('keys, limits, usage and events live in the database: the next master on it carries on with them', async () => {
    const url = await server().createDatabase();
    const rateLimits = JSON.stringify([{ scope: 'tenant', requests_per_minute: 5, window_s: 600 }]);
    const dirA = tempDir('tw-pg-rooms-a-');
    const a = await startCluster({ workers: 1, master: { store: url, dataDir: dirA, adminKey: ADMIN, rateLimits } });
    let secret: string;
    let usageA: unknown;
    let lastA: number;
    try {
      expect((await call(a, 'POST', '/api/v1/admin/tenants', ADMIN, { id: 'acme' })).status).toBe(201);
      const made = await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme', scopes: ['submit', 'read'] });
      expect(made.status).toBe(201);
      secret = ((await made.json()) as { secret: string }).secret;
      for (let i = 0; i < 3; i++) {
        const r = await call(a, 'POST', '/api/v1/tasks', secret, { kind: 'echo', input: { text: `a${i}` } });
        expect(r.status).toBe(202);
      }
      await waitFor(async () => {
        const r = (await (await call(a, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).json()) as { totals: { attempts: number } };
        return r.totals.attempts === 3 && r;
      }, 'three usage rows', 20_000);
      usageA = await (await call(a, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).json();
      const page = await waitFor(async () => {
        const p = await eventsAfter(a, 0);
        return p.events.filter((e) => e.type === 'task.succeeded').length === 3 && p;
      }, 'three task.succeeded events', 20_000);
      expect(page.events.filter((e) => e.type === 'task.succeeded').length).toBe(3);
      lastA = page.last_id;
      // None of it in the data dir: those files belong to masters on SQLite.
      for (const f of ['tenancy.db', 'usage.db', 'events.db', 'limits.db']) expect(existsSync(join(dirA, f))).toBe(false);
    } finally {
      await a.close();
    }

    const dirB = tempDir('tw-pg-rooms-b-');
    const b = await startCluster({ workers: 1, master: { store: url, dataDir: dirB, adminKey: ADMIN, rateLimits } });
    try {
      // The key made on A; the limit window A counted 3 of 5 in: 2 more, then 429.
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await call(b, 'POST', '/api/v1/tasks', secret, { kind: 'echo', input: { text: `b${i}` } });
        expect(r.status).toBe(202);
        ids.push(((await r.json()) as { id: string }).id);
      }
      expect((await call(b, 'POST', '/api/v1/tasks', secret, { kind: 'echo', input: { text: 'over' } })).status).toBe(429);
      // The stream resumes where A's ids stopped: B's events come after them, with higher ids.
      const resumed = await sseFrom(b, lastA, 2 * 3); // queued, assigned/started, succeeded per task at least
      expect(resumed.every((id) => id > lastA)).toBe(true);
      // One stream on the database: A's events then B's, ids increasing across the two masters.
      const all = (await eventsAfter(b, 0)).events.map((e) => e.id);
      expect(all).toContain(lastA);
      expect(all.filter((id) => id > lastA).length).toBeGreaterThanOrEqual(6);
      for (let i = 1; i < all.length; i++) expect(all[i]!).toBeGreaterThan(all[i - 1]!);
      await waitFor(async () => {
        const r = (await (await call(b, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).json()) as { totals: { attempts: number } };
        return r.totals.attempts === 5 && r;
      }, 'five usage rows (A\'s three and B\'s two)', 20_000);
      const u = (await (await call(b, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).json()) as { totals: { attempts: number; bytes_in: number } };
      expect(u.totals.bytes_in).toBeGreaterThan((usageA as { totals: { bytes_in: number } }).totals.bytes_in);
      for (const f of ['tenancy.db', 'usage.db', 'events.db', 'limits.db']) expect(existsSync(join(dirB, f))).toBe(false);
    } finally {
      await b.close();
    }
  });
});
