/**
 * The rooms' tables on PostgreSQL (master/postgres-rooms.ts), against a real
 * PostgreSQL started with initdb: each room's PostgreSQL implementation
 * passes what its SQLite one does, and two instances on one database (as
 * two masters would hold them, each with pools and listening connections of
 * its own) share the concern:
 *   keys      a key created on A resolves on B; revoked on A, refused on B
 *   limits    counted from both at once, exactly the limit is admitted
 *   usage     rows from both, totals equal on both, one row per attempt
 *   events    one stream with both masters' events, ids increasing, resumable on either
 *   logs      one log: pages and follows on either master show both masters' lines
 */
import { describe, expect, it } from 'vitest';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { silentLogger } from '../../common/logger.js';
import { TaskEvents } from '../../master/core/task-events.js';
import { EventLog } from '../../master/events/event-log.js';
import { PostgresEventOutbox } from '../../master/events/postgres-event-outbox.js';
import { PostgresUsageStore, UsageStoreAsyncError } from '../../master/billing/postgres-usage-store.js';
import type { UsageRow } from '../../master/billing/usage-row.js';
import { LimiterStore } from '../../master/limits/limiter-store.js';
import { openPostgresLimiters } from '../../master/limits/postgres-limiters.js';
import { PostgresTenantSettings } from '../../master/limits/postgres-tenant-settings.js';
import { migrateRoom, RoomSchemaTooNewError } from '../../master/store/postgres-room-schema.js';
import { KeyStore } from '../../master/tenancy/key-store.js';
import { PostgresKeyStorePersistence } from '../../master/tenancy/postgres-key-store.js';
import { Authenticator } from '../../master/http/auth/principal.js';
import { openPostgresRooms } from '../../master/postgres-rooms.js';
import { LogCollector } from '../../master/logs/log-collector.js';
import type { LogEntry, NewLogEntry } from '../../master/logs/log-entry.js';
import { LOGS_PG_STEPS, PostgresLogStore } from '../../master/logs/postgres-log-store.js';
import { waitFor } from '../helpers/cluster.js';
import { postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';
import { exerciseEventLog } from '../unit/event-log-contract.js';

const available = postgresAvailable();
const clock = { now: () => Date.now() };

describe.skipIf(!available)(`rooms on PostgreSQL${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, pool } = postgresRoomsFixture();

  it('events: the event log contract (ids, delivery after keeping, filters, chunked pruning); ids continue after reopening', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    await exerciseEventLog(() => PostgresEventOutbox.open(p, url));
    const again = await PostgresEventOutbox.open(p, url);
    expect(again.lastId).toBe(21);
    await again.close();
  });

  it('events: two masters append at once; one stream of both, ids strictly increasing, the same on either, resumable from any id', async () => {
    const url = await server().createDatabase();
    const mk = async () => {
      const events = new TaskEvents(() => Date.now());
      const log = new EventLog(events, await PostgresEventOutbox.open(pool(url), url), silentLogger());
      const seen: number[] = [];
      const sources: string[] = [];
      log.follow({ filter: {}, deliver: (b) => b.forEach((s) => (seen.push(s.id), sources.push((s.event as { worker_id: string }).worker_id.slice(0, 1)))) });
      return { events, log, seen, sources };
    };
    const a = await mk();
    const b = await mk();
    const N = 300;
    for (let i = 0; i < N; i++) {
      a.events.publish('worker.online', { worker_id: `a${i}` }, {} as never);
      b.events.publish('worker.online', { worker_id: `b${i}` }, {} as never);
      if (i % 25 === 0) await new Promise((r) => setImmediate(r)); // several batches, interleaved
    }
    await waitFor(() => a.seen.length >= 2 * N && b.seen.length >= 2 * N, 'both streams complete', 20_000);
    expect(a.seen.length).toBe(2 * N);
    expect(b.seen).toEqual(a.seen); // the same stream on both masters
    for (let i = 1; i < a.seen.length; i++) expect(a.seen[i]!).toBeGreaterThan(a.seen[i - 1]!);
    expect(new Set(a.sources)).toEqual(new Set(['a', 'b']));
    // Resume from any id on the other master: exactly the rest, in order.
    const cut = a.seen[N]!;
    const rest = await b.log.after(cut, {}, 10 * N);
    expect(rest.map((s) => s.id)).toEqual(a.seen.slice(N + 1));
    expect((await a.log.after(0, { workerId: 'b7' }, 10)).map((s) => s.event.type)).toEqual(['worker.online']);
    await a.log.close();
    await b.log.close();
  });

  it('events: a batch PostgreSQL refuses is kept and retried in order; nothing is lost, followers get it once it is in', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    const events = new TaskEvents(() => Date.now());
    const log = new EventLog(events, await PostgresEventOutbox.open(p, url), silentLogger());
    const seen: string[] = [];
    log.follow({ filter: {}, deliver: (b) => b.forEach((s) => seen.push((s.event as { worker_id: string }).worker_id)) });
    await p.query('ALTER TABLE tw_events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID');
    for (let i = 0; i < 5; i++) events.publish('worker.online', { worker_id: `w${i}` }, {} as never);
    await new Promise((r) => setTimeout(r, 1500)); // at least one refused attempt
    expect(seen).toEqual([]);
    await p.query('ALTER TABLE tw_events DROP CONSTRAINT refuse_all');
    await waitFor(() => seen.length === 5, 'the kept batch written and delivered', 10_000);
    expect(seen).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    expect(log.failures).toBe(0);
    await log.close();
  });

  it('limits: counted from two masters at once, exactly the limit is admitted; the window is shared', async () => {
    const url = await server().createDatabase();
    const a = new LimiterStore('postgres', await openPostgresLimiters(pool(url)));
    const b = new LimiterStore('postgres', await openPostgresLimiters(pool(url)));
    const limit = 25;
    const tries = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        (i % 2 === 0 ? a : b)
          .limiter(limit, 600)
          .consume('tw:key-x:rpm', 1)
          .then(
            () => 'ok' as const,
            (e: unknown) => {
              if (e instanceof RateLimiterRes) return 'refused' as const;
              throw e;
            },
          ),
      ),
    );
    expect(tries.filter((t) => t === 'ok').length).toBe(limit);
    const seenByB = await b.limiter(limit, 600).get('tw:key-x:rpm');
    expect(seenByB?.consumedPoints).toBeGreaterThanOrEqual(limit);
    // Given back on A (a refused submit's points): B can take one more.
    await a.limiter(limit, 600).reward('tw:key-x:rpm', seenByB!.consumedPoints - limit + 1);
    await expect(b.limiter(limit, 600).consume('tw:key-x:rpm', 1)).resolves.toBeDefined();
    await expect(a.limiter(limit, 600).consume('tw:key-x:rpm', 1)).rejects.toBeInstanceOf(RateLimiterRes);
    a.close();
    b.close();
  });

  it('limits: rules an admin set on A (PUT /admin/limits) are in force on B; removed on A, B is back to its setting', async () => {
    const url = await server().createDatabase();
    const a = (await openPostgresLimiters(pool(url))).rules!;
    const b = (await openPostgresLimiters(pool(url))).rules!;
    const seenOnB: unknown[] = [];
    b.watch!((c) => seenOnB.push(c));
    const rules = { rules: [{ scope: 'tenant' as const, requests_per_minute: 3 }] };
    await a.save(rules as never);
    await waitFor(() => seenOnB.length === 1, 'the rules on B', 10_000);
    expect(seenOnB[0]).toMatchObject(rules);
    expect(b.load()).toMatchObject(rules);
    await a.remove();
    await waitFor(() => seenOnB.length === 2, 'removed on B', 10_000);
    expect(seenOnB[1]).toBeUndefined();
    const c = (await openPostgresLimiters(pool(url))).rules!;
    expect(c.load()).toBeUndefined();
  });

  it('settings: a write PostgreSQL refuses rejects with 503 UNAVAILABLE and changes nothing (limit rules, tenant settings, prices, budgets)', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    const settings = await PostgresTenantSettings.open(p);
    const backend = await openPostgresLimiters(p);
    const limits = backend.rules!;
    const usage = await PostgresUsageStore.open(p);
    const kept = { rules: [{ scope: 'tenant' as const, requests_per_minute: 3 }] };
    await limits.save(kept as never);
    await usage.saveSetting('budgets', { tenants: { a: 1 } });
    const tenantLimits = settings.room('limits');
    await tenantLimits.save('acme', { rules: [{ scope: 'key', requests_per_minute: 5 }] });
    for (const t of ['tw_limit_rules', 'tw_billing_settings', 'tw_prices', 'tw_tenant_settings']) await p.query(`ALTER TABLE ${t} ADD CONSTRAINT refuse CHECK (false) NOT VALID`);
    await p.query('ALTER TABLE tw_limit_rules DROP CONSTRAINT refuse'); // a CHECK does not stop a DELETE: a trigger does
    await p.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await p.query('CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON tw_limit_rules FOR EACH ROW EXECUTE FUNCTION refuse()');
    await expect(limits.save({ rules: [] } as never)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/limit rules could not be kept/) });
    await expect(limits.remove()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(limits.load()).toMatchObject(kept);
    await expect(usage.saveSetting('budgets', { tenants: {} })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(usage.loadSetting('budgets')).toEqual({ tenants: { a: 1 } });
    await expect(usage.savePrice({ version: 1, effective_from_ms: 0, currency: 'USD', entries: [] } as never)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(usage.loadPrices()).toEqual([]);
    await expect(tenantLimits.save('acme', { rules: [] })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(tenantLimits.load().get('acme')).toEqual({ rules: [{ scope: 'key', requests_per_minute: 5 }] });
    // PostgreSQL takes writes again: the next change is kept.
    await p.query('DROP TRIGGER refuse ON tw_limit_rules');
    await limits.remove();
    expect(limits.load()).toBeUndefined();
    await backend.close();
    await usage.drain();
    usage.close();
    settings.close();
  });

  const row = (task: string, attempt: number, tenant: string, tokens: number): UsageRow => ({
    task_id: task, attempt, tenant, key: 'k', kind: 'llm', model: 'm', worker_id: 'w', outcome: 'succeeded', tokens_in: tokens, tokens_out: 2 * tokens,
    processing_ms: 10, cpu_us: 1000 * tokens + 1, mem_mib_ms: 50 * tokens, images: 0, megapixels: 0.5, bytes_in: 100, bytes_out: 200, at_ms: Date.now(), cost: 0.25, price_version: 1,
  });

  it('usage: rows from two masters, one per attempt (the first kept), the same totals on both; prices and settings survive a reopen; append-only', async () => {
    const url = await server().createDatabase();
    const a = await PostgresUsageStore.open(pool(url));
    const b = await PostgresUsageStore.open(pool(url));
    const writtenA: string[] = [];
    const writtenB: string[] = [];
    for (let i = 0; i < 50; i++) {
      a.insert(row(`t${i}`, 1, i % 2 ? 'acme' : 'default', i), (r) => writtenA.push(r.task_id));
      b.insert(row(`u${i}`, 1, 'acme', i), (r) => writtenB.push(r.task_id));
    }
    // A row is in the shared ledger once its master wrote it (a query writes what is pending first).
    await a.query({ fromMs: 0, toMs: 1 });
    await b.query({ fromMs: 0, toMs: 1 });
    b.insert(row('t3', 1, 'acme', 999), (r) => writtenB.push(r.task_id)); // the same attempt again, on the other master
    const all = [await b.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }), await a.query({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })];
    expect(all[0]!.length).toBe(100);
    expect(all[1]).toEqual(all[0]);
    expect(writtenA.length).toBe(50);
    expect(writtenB.length).toBe(50); // not t3
    expect(all[0]!.find((r) => r.task_id === 't3')).toMatchObject({ tokens_in: 3, cpu_us: 3001, mem_mib_ms: 150 });
    const sum = (rows: UsageRow[]) => rows.reduce((s, r) => s + r.tokens_in + r.tokens_out, 0);
    expect(sum(await b.query({ tenant: 'acme', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }))).toBe(sum(await a.query({ tenant: 'acme', fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })));
    expect(sum(all[0]!)).toBe(3 * (2 * 49 * 50) / 2);
    expect(() => a.rows()).toThrow(UsageStoreAsyncError);
    await a.savePrice({ version: 1, effective_from_ms: 0, currency: 'USD', entries: [] } as never);
    await a.saveSetting('budgets', { tenants: {} });
    // The same version from the other master: refused (409), not silently dropped.
    await expect(b.savePrice({ version: 1, effective_from_ms: 5, currency: 'EUR', entries: [] } as never)).rejects.toMatchObject({ code: 'CONFLICT' });
    await a.drain();
    const c = await PostgresUsageStore.open(pool(url));
    expect(c.loadPrices().map((v) => v.version)).toEqual([1]);
    expect(c.loadSetting('budgets')).toEqual({ tenants: {} });
    const direct = pool(url);
    await expect(direct.query("UPDATE tw_usage SET tokens_in = 0 WHERE task_id = 't1'")).rejects.toThrow(/append-only/);
    await expect(direct.query('DELETE FROM tw_usage')).rejects.toThrow(/append-only/);
    await b.drain();
  });

  it('keys: created on A, resolves on B; rotated or revoked on A, the old secret is refused on B at once and B drops its connections; reopened, all there', async () => {
    const url = await server().createDatabase();
    const pa = await PostgresKeyStorePersistence.open(pool(url), url);
    const pb = await PostgresKeyStorePersistence.open(pool(url), url);
    const a = new KeyStore(pa, clock);
    const b = new KeyStore(pb, clock);
    const authB = new Authenticator().use(b);
    const droppedOnB: string[] = [];
    b.on('invalidated', (id) => droppedOnB.push(id));
    a.createTenant({ id: 'acme' });
    a.createUser({ tenant: 'acme', id: 'ann' });
    const { key, secret } = a.createKey({ tenant: 'acme', user: 'ann', scopes: ['submit', 'read'], kinds: ['echo'] });
    await a.flushed();
    expect(b.resolve(secret)?.tenant ?? (await waitFor(() => b.resolve(secret), 'the key on B', 10_000)).tenant).toBe('acme');
    expect(authB.resolve(secret)).toMatchObject({ id: key.id, tenant: 'acme' });
    expect(b.allowList(key.id)).toEqual({ kinds: ['echo'] });
    expect(b.listTenants().map((t) => t.id)).toContain('acme');
    expect(b.listUsers('acme').map((u) => u.id)).toEqual(['ann']);
    const rotated = a.rotateKey(key.id);
    await a.flushed();
    await waitFor(() => b.resolve(rotated.secret), 'the rotated secret on B', 10_000);
    expect(b.resolve(secret)).toBeUndefined();
    a.revokeKey(key.id);
    await a.flushed();
    await waitFor(() => b.resolve(rotated.secret) === undefined, 'revoked on B', 10_000);
    expect(droppedOnB).toEqual([key.id, key.id]);
    a.setMeta('bootstrap-printed', '1');
    await a.flushed();
    a.close();
    b.close();
    const c = new KeyStore(await PostgresKeyStorePersistence.open(pool(url), url), clock);
    expect(c.key(key.id)).toMatchObject({ tenant: 'acme' });
    expect(c.resolve(rotated.secret)).toBeUndefined();
    expect(c.getMeta('bootstrap-printed')).toBe('1');
    c.close();
  });

  it('keys: a write PostgreSQL refuses makes flushed() reject with 503 UNAVAILABLE (the admin route answers it)', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    const ks = new KeyStore(await PostgresKeyStorePersistence.open(p, url), clock);
    await p.query('ALTER TABLE tw_tenants ADD CONSTRAINT no_new CHECK (id = \'default\') NOT VALID');
    ks.createTenant({ id: 'acme' });
    await expect(ks.flushed()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(ks.flushed()).resolves.toBeUndefined();
    ks.close();
  });

  const line = (i: number, extra: Partial<NewLogEntry> = {}): NewLogEntry => ({
    ts: 1_000_000 + i, level: i % 10 === 0 ? 'error' : 'info', source: i % 2 ? 'w1' : 'master', worker_id: i % 2 ? 'w1' : null,
    task_id: `t${i % 5}`, msg: `line ${i} ${i % 2 ? 'odd' : 'even'}`, ...extra,
  });

  it('logs: the log store contract (pages both ways, filters, full text, age and byte bounds); ids continue after reopening', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    const s = await PostgresLogStore.open(p, url, { maxBytes: 1 << 30 });
    const tailed: LogEntry[] = [];
    s.tail((e) => tailed.push(...e));
    expect(s.append(Array.from({ length: 100 }, (_, i) => line(i + 1)))).toEqual([]); // ids come at commit
    await waitFor(() => s.lastId === 100 && tailed.length === 100, 'the lines committed and tailed');
    expect(tailed.map((e) => e.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const ids = async (req: Parameters<PostgresLogStore['page']>[0]) => (await s.page(req)).map((e) => e.id);
    expect(await ids({ filter: {}, limit: 10 })).toEqual([100, 99, 98, 97, 96, 95, 94, 93, 92, 91]);
    expect(await ids({ filter: {}, limit: 3, beforeId: 91 })).toEqual([90, 89, 88]);
    expect(await ids({ filter: {}, limit: 3, afterId: 97 })).toEqual([98, 99, 100]);
    expect(await ids({ filter: { minLevel: 'warn' }, limit: 100 })).toEqual([100, 90, 80, 70, 60, 50, 40, 30, 20, 10]);
    expect((await s.page({ filter: { taskId: 't3', workerId: 'w1' }, limit: 100 })).every((e) => e.task_id === 't3' && e.worker_id === 'w1')).toBe(true);
    expect(await ids({ filter: { text: 'line 42' }, limit: 100 })).toEqual([42]);
    expect(await ids({ filter: { text: 'ODD', sinceTs: 1_000_090, untilTs: 1_000_095 }, limit: 100 })).toEqual([93, 91]);
    expect(await ids({ filter: { text: "!!! ' & |" }, limit: 100 })).toEqual([]);
    expect(await s.prune(1_000_026)).toBe(25);
    expect((await ids({ filter: {}, limit: 100 })).at(-1)).toBe(26);
    await s.close();
    const b = await PostgresLogStore.open(p, url, { maxBytes: 16 * 1024 });
    expect(b.lastId).toBe(100);
    for (let k = 0; k < 5; k++) b.append(Array.from({ length: 100 }, (_, i) => line(1000 + k * 100 + i, { msg: 'x'.repeat(200) })));
    await b.prune(0);
    const kept = await b.page({ filter: {}, limit: 1000 });
    expect(kept[0]!.id).toBe(600);
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length * 300).toBeLessThanOrEqual(16 * 1024 + 300 * 200);
    await b.close();
  });

  it('logs: each line keeps its tenant and owner, filtered by them (a cluster line, tenant null, matches no tenant)', async () => {
    const url = await server().createDatabase();
    const s = await PostgresLogStore.open(pool(url), url, { maxBytes: 1 << 30 });
    const ids = async (req: Parameters<PostgresLogStore['page']>[0]) => (await s.page(req)).map((e) => e.id);
    s.append([line(100), line(101, { tenant: 'acme', owner: 'key-a' }), line(102, { tenant: 'globex', owner: 'key-g' }), line(103, { tenant: 'acme' })]);
    await waitFor(() => s.lastId === 4, 'the tenant lines committed');
    expect(await ids({ filter: { tenant: 'acme' }, limit: 100 })).toEqual([4, 2]);
    expect(await ids({ filter: { tenant: 'acme', owners: ['key-a'] }, limit: 100 })).toEqual([2]);
    expect(await ids({ filter: { tenant: 'acme', owners: [] }, limit: 100 })).toEqual([]);
    expect(await ids({ filter: { tenant: 'globex', text: 'even' }, limit: 100 })).toEqual([3]);
    expect((await s.page({ filter: {}, limit: 4 })).map((e) => [e.id, e.tenant, e.owner])).toEqual([[4, 'acme', null], [3, 'globex', 'key-g'], [2, 'acme', 'key-a'], [1, null, null]]);
    await s.close();
  });

  it('logs: a room of schema 1 (before tenant and owner) goes to 2 in place: its lines kept, as cluster lines; new lines carry their tenant', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    await migrateRoom(p, 'logs', LOGS_PG_STEPS.slice(0, 1));
    await p.query(`INSERT INTO tw_logs (ts, level, source, worker_id, task_id, msg, bytes) VALUES (1000, 30, 'w1', 'w1', 't1', 'old line one', 12), (1001, 50, 'master', NULL, NULL, 'old line two', 12)`);
    await p.query(`UPDATE tw_log_bytes SET bytes = 24`);
    const s = await PostgresLogStore.open(p, url, { maxBytes: 1 << 30 });
    expect((await p.query<{ version: number }>("SELECT version FROM taskwire_room_schema WHERE room = 'logs'")).rows[0]!.version).toBe(2);
    expect(s.lastId).toBe(2);
    s.append([line(5, { tenant: 'acme', owner: 'key-a' })]);
    await waitFor(() => s.lastId === 3, 'the new line committed');
    expect((await s.page({ filter: {}, limit: 10 })).map((e) => [e.id, e.msg.slice(0, 12), e.tenant, e.owner])).toEqual([
      [3, 'line 5 odd', 'acme', 'key-a'],
      [2, 'old line two', null, null],
      [1, 'old line one', null, null],
    ]);
    expect((await s.page({ filter: { text: 'old' }, limit: 10 })).map((e) => e.id)).toEqual([2, 1]);
    expect((await s.page({ filter: { tenant: 'acme' }, limit: 10 })).map((e) => e.id)).toEqual([3]); // the old lines are cluster lines
    await s.close();
  });

  it('logs: two masters keep lines in one log; a follower on A gets B\'s lines too, a page on B shows A\'s', async () => {
    const url = await server().createDatabase();
    const mk = async () => new LogCollector(await PostgresLogStore.open(pool(url), url, { maxBytes: 1 << 30 }), { retentionMs: 3600_000, now: () => Date.now() });
    const a = await mk();
    const b = await mk();
    const onA: LogEntry[] = [];
    a.follow({ filter: { source: 'worker-b' }, deliver: (e) => onA.push(...e) });
    for (let i = 0; i < 20; i++) {
      a.fromMqtt('worker-a', { level: 'info', msg: `from a ${i}`, ts: new Date().toISOString() } as never);
      b.fromMqtt('worker-b', { level: 'warn', msg: `from b ${i}`, ts: new Date().toISOString() } as never);
    }
    await waitFor(() => onA.length === 20, "B's lines on A's follower", 10_000);
    expect(onA.map((e) => e.msg)).toEqual(Array.from({ length: 20 }, (_, i) => `from b ${i}`));
    await waitFor(async () => (await b.store.page({ filter: {}, limit: 100 })).length === 40, 'forty lines on B', 10_000);
    const both = await b.store.page({ filter: { source: 'worker-a' }, limit: 100 });
    expect(both.length).toBe(20);
    await a.close();
    await b.close();
  });

  it('schema versions: each room is versioned in taskwire_room_schema; a newer one is refused; opening twice at once migrates once', async () => {
    const url = await server().createDatabase();
    const [r1, r2] = await Promise.all([openPostgresRooms(url), openPostgresRooms(url)]);
    await r1.close();
    await r2.close();
    const p = pool(url);
    const v = (await p.query<{ room: string; version: number }>('SELECT room, version FROM taskwire_room_schema ORDER BY room')).rows;
    expect(v).toEqual([
      { room: 'billing', version: 2 },
      { room: 'blobs', version: 1 },
      { room: 'budget_spend', version: 2 },
      { room: 'events', version: 2 },
      { room: 'limits', version: 2 },
      { room: 'logs', version: 2 },
      { room: 'placement', version: 1 },
      { room: 'tenancy', version: 1 },
      { room: 'tenant_settings', version: 1 },
    ]);
    await p.query("UPDATE taskwire_room_schema SET version = 9 WHERE room = 'events'");
    await expect(openPostgresRooms(url)).rejects.toBeInstanceOf(RoomSchemaTooNewError);
  });
});
