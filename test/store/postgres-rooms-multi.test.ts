/**
 * Two real masters at once on one PostgreSQL and one Mosquitto
 * (TASKWIRE_MASTERS=multi), in process, with a real worker: the rooms'
 * tables are shared (master/postgres-rooms.ts), so
 *   - a key created on master A works on master B (and a revoke on A is refused on B);
 *   - a tenant limit counted by both admits exactly the limit across them;
 *   - the usage report is the same on both and counts both masters' tasks;
 *   - one event stream: B's SSE carries A's events too, ids increasing, and
 *     `Last-Event-ID` resumes on A where B's stream stopped;
 *   - rules, prices and budgets an admin PUTs on A are in force on B;
 *   - one log: each worker line kept once, the same on both;
 *   - placement settings changed on A are in force on B (a refused write: 503, nothing changed);
 *   - one blob store: an image uploaded through A is read, processed and its output downloaded through B.
 */
import mqtt from 'mqtt';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { Master } from '../../master/master.js';
import { ImageHandler } from '../../worker/handlers/image/image-handler.js';
import { Worker } from '../../worker/worker.js';
import { uniqueId, waitFor } from '../helpers/cluster.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';

const available = postgresAvailable() && mosquittoAvailable();
const ADMIN = 'tw_admin_secret_for_the_two_master_rooms_test_012345';

type Page = { events: { id: number; type: string; task_id?: string }[]; last_id: number };

describe.skipIf(!available)(`two masters share keys, limits, usage, events and logs${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres;
  let broker: Mosquitto;
  beforeAll(async () => {
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([server?.close(), broker?.close()]);
  });

  it('a key made on A works on B; a limit across both admits exactly the limit; the same usage on both; one event stream and one log', { timeout: 120_000 }, async () => {
    const url = await server.createDatabase();
    const topicRoot = uniqueId('tw');
    const rateLimits = JSON.stringify([{ scope: 'tenant', requests_per_minute: 7, window_s: 600 }]);
    const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi' as const, mqttUrl: broker.url, topicRoot, adminKey: ADMIN, rateLimits };
    const masters: Master[] = [];
    let worker: Worker | undefined;
    try {
      masters.push(await Master.create({ ...common, masterId: uniqueId('ma') }, { logger: { logger: silentLogger() } }));
      masters.push(await Master.create({ ...common, masterId: uniqueId('mb') }, { logger: { logger: silentLogger() } }));
      const [a, b] = masters.map((m) => `http://127.0.0.1:${m.httpPort}`) as [string, string];
      worker = await Worker.create({ workerId: uniqueId('w'), mqttUrl: broker.url, topicRoot, logToStdout: false, capacity: 4 }, { logger: { logger: silentLogger() } });
      const call = (base: string, method: string, path: string, key: string, body?: unknown) =>
        fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

      // Keys: made on A, used on B.
      expect((await call(a, 'POST', '/api/v1/admin/tenants', ADMIN, { id: 'acme' })).status).toBe(201);
      const made = (await (await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant: 'acme' })).json()) as { key: { id: string }; secret: string };
      await waitFor(async () => (await call(b, 'GET', '/api/v1/tasks?limit=1', made.secret)).status === 200, 'the key resolves on B', 10_000);

      // Limits: 7 per window for the tenant, submitted alternately on A and B, all at once.
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call(i % 2 ? b : a, 'POST', '/api/v1/tasks', made.secret, { kind: 'echo', input: { text: `t${i}` } }).then(async (r) => ({ status: r.status, id: r.status === 202 ? ((await r.json()) as { id: string }).id : undefined }))),
      );
      const accepted = statuses.filter((s) => s.status === 202);
      expect(accepted.length).toBe(7);
      expect(statuses.filter((s) => s.status === 429).length).toBe(13);

      // Usage: every accepted task runs once; both masters report the same totals, counting all 7.
      const usage = async (base: string) => ((await (await call(base, 'GET', '/api/v1/usage?tenant=acme', ADMIN)).json()) as { totals: { attempts: number } }).totals;
      await waitFor(async () => (await usage(a)).attempts === 7 && (await usage(b)).attempts === 7, 'seven usage rows on both masters', 30_000);
      expect(await usage(a)).toEqual(await usage(b));

      // Events: one stream; every accepted task's task.succeeded is on both masters' pages, with the same ids.
      const page = async (base: string, since = 0): Promise<Page> => (await (await call(base, 'GET', `/api/v1/events?follow=false&since=${since}&limit=1000`, ADMIN)).json()) as Page;
      const done = (p: Page) => new Set(p.events.filter((e) => e.type === 'task.succeeded').map((e) => e.task_id));
      await waitFor(async () => done(await page(a)).size === 7 && done(await page(b)).size === 7, 'the seven task.succeeded events on both', 20_000);
      const [pa, pb] = [await page(a), await page(b)];
      const common7 = (p: Page) => p.events.filter((e) => e.type === 'task.succeeded').map((e) => e.id);
      expect(common7(pa)).toEqual(common7(pb));
      for (const p of [pa, pb]) for (let i = 1; i < p.events.length; i++) expect(p.events[i]!.id).toBeGreaterThan(p.events[i - 1]!.id);
      // Resume on A from an id B's page had: exactly what follows it.
      const mid = pb.events[Math.floor(pb.events.length / 2)]!.id;
      const resumed = await page(a, mid);
      expect(resumed.events.map((e) => e.id)).toEqual((await page(b)).events.filter((e) => e.id > mid).map((e) => e.id).slice(0, resumed.events.length));

      // Rules an admin PUTs on A are in force on B.
      expect((await call(a, 'PUT', '/api/v1/admin/limits', ADMIN, { rules: [{ scope: 'tenant', requests_per_minute: 1000 }] })).status).toBe(200);
      await waitFor(async () => {
        const got = (await (await call(b, 'GET', '/api/v1/admin/limits', ADMIN)).json()) as { source: string; rules: { requests_per_minute?: number }[] };
        return got.source === 'admin' && got.rules[0]?.requests_per_minute === 1000;
      }, "A's rules in force on B", 15_000);
      expect((await call(b, 'POST', '/api/v1/tasks', made.secret, { kind: 'echo', input: { text: 'under the new rules' } })).status).toBe(202);

      // Prices an admin PUTs on A price B's rows too; budgets likewise.
      expect((await call(a, 'PUT', '/api/v1/admin/prices', ADMIN, { currency: 'EUR', prices: [{ kind: 'echo', per_request: 0.5 }] })).status).toBe(200);
      expect((await call(a, 'PUT', '/api/v1/admin/budgets', ADMIN, { budgets: [{ scope: 'tenant', id: 'acme', period: 'month', soft: 100 }] })).status).toBe(200);
      await waitFor(async () => {
        const got = (await (await call(b, 'GET', '/api/v1/admin/prices', ADMIN)).json()) as { versions: { version: number; currency: string }[] };
        return got.versions.length === 1 && got.versions[0]!.currency === 'EUR';
      }, "A's price version on B", 15_000);
      await waitFor(async () => JSON.stringify(await (await call(b, 'GET', '/api/v1/admin/budgets', ADMIN)).json()).includes('acme'), "A's budgets on B", 15_000);

      // Revoked on A: refused on B.
      expect((await call(a, 'POST', `/api/v1/admin/keys/${made.key.id}/revoke`, ADMIN)).status).toBe(200);
      await waitFor(async () => (await call(b, 'GET', '/api/v1/tasks?limit=1', made.secret)).status === 401, 'the revoked key refused on B', 10_000);

      // Logs: one log on both masters; each worker line kept once (the broker hands it to one master).
      type Line = { id: number; msg: string; ts: string; worker_id: string | null; task_id: string | null };
      const logs = async (base: string) => ((await (await call(base, 'GET', '/api/v1/logs?limit=1000', ADMIN)).json()) as { logs: Line[] }).logs;
      const workerLines = (ls: Line[]) => ls.filter((l) => l.worker_id !== null);
      const pub = await mqtt.connectAsync(broker.url, { clientId: uniqueId('wlog') });
      try {
        for (let i = 0; i < 30; i++) {
          const line = { ts: new Date().toISOString(), level: 'info', source: 'wlog', msg: `worker line ${i}`, task_id: '' };
          await pub.publishAsync(`${topicRoot}/logs/wlog`, JSON.stringify(line), { qos: 0 });
        }
      } finally {
        await pub.endAsync();
      }
      await waitFor(async () => workerLines(await logs(a)).filter((l) => l.msg.startsWith('worker line')).length >= 30, 'the 30 worker lines kept', 10_000);
      await new Promise((r) => setTimeout(r, 500)); // a duplicate from the other master would have landed by now
      const la = workerLines(await logs(a));
      const lb = workerLines(await logs(b));
      expect(lb.map((l) => l.id)).toEqual(la.map((l) => l.id));
      const keys = la.map((l) => `${l.ts}|${l.task_id}|${l.msg}`);
      expect(new Set(keys).size).toBe(keys.length);
      // Every line once (the masters took turns: ids follow their batches' commits, not the publish order).
      const n = (m: string) => Number(m.slice('worker line '.length));
      expect(la.filter((l) => l.msg.startsWith('worker line')).map((l) => n(l.msg)).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    } finally {
      await worker?.close();
      for (const m of masters.reverse()) await m.close();
    }
  });

  it('blobs and batches: uploaded through A, processed through B (its own image worker), the output and B\'s batch read through A; another tenant 404; a restarted A leaves B\'s batch to B', { timeout: 120_000 }, async () => {
    const url = await server.createDatabase();
    const topicRoot = uniqueId('tw');
    const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi' as const, mqttUrl: broker.url, topicRoot, adminKey: ADMIN };
    const masters: Master[] = [];
    const workers: Worker[] = [];
    try {
      // Shares go by sorted ids: the first worker is A's, the second B's (store/worker-shares.ts).
      masters.push(await Master.create({ ...common, masterId: `${uniqueId('bl')}-a` }, { logger: { logger: silentLogger() } }));
      masters.push(await Master.create({ ...common, masterId: `${masters[0]!.options.masterId.slice(0, -2)}-b` }, { logger: { logger: silentLogger() } }));
      const [a, b] = masters as [Master, Master];
      const wid = uniqueId('blw');
      for (const n of [0, 1]) workers.push(await Worker.create({ workerId: `${wid}-${n}`, mqttUrl: broker.url, topicRoot, logToStdout: false, capacity: 2, kinds: ['image'] }, { logger: { logger: silentLogger() }, handlers: [new ImageHandler()] }));
      await waitFor(() => b.cluster?.shares?.owns(`${wid}-1`) === true && a.cluster?.shares?.owns(`${wid}-0`) === true, 'one image worker in each share', 30_000);
      const base = (m: Master) => `http://127.0.0.1:${m.httpPort}`;
      const call = (m: Master, method: string, path: string, key: string, body?: unknown, raw?: { data: Buffer; type: string }) =>
        fetch(`${base(m)}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': raw?.type ?? 'application/json' }, body: raw ? new Uint8Array(raw.data) : body === undefined ? undefined : JSON.stringify(body) });
      const keyOf = async (tenant: string) => {
        expect((await call(a, 'POST', '/api/v1/admin/tenants', ADMIN, { id: tenant })).status).toBe(201);
        return ((await (await call(a, 'POST', '/api/v1/admin/keys', ADMIN, { tenant })).json()) as { secret: string }).secret;
      };
      const [acme, globex] = [await keyOf('acme'), await keyOf('globex')];
      await waitFor(async () => (await call(b, 'GET', '/api/v1/tasks?limit=1', globex)).status === 200, 'the keys resolve on B', 10_000);

      const png = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#c83232' } }).png().toBuffer();
      const up = await call(a, 'POST', '/api/v1/blobs', acme, undefined, { data: png, type: 'image/png' });
      expect(up.status).toBe(201);
      const blob = ((await up.json()) as { id: string }).id;
      const onB = await call(b, 'GET', `/api/v1/blobs/${blob}`, acme);
      expect(onB.status).toBe(200);
      expect(Buffer.from(await onB.arrayBuffer()).equals(png)).toBe(true);
      for (const m of [a, b]) expect((await call(m, 'GET', `/api/v1/blobs/${blob}`, globex)).status).toBe(404);

      // An image task on B naming A's upload: B admits it (the blob is acme's there too) and its worker runs it.
      const made = await call(b, 'POST', '/api/v1/tasks', acme, { kind: 'image', input: { blob, ops: [{ op: 'resize', width: 16 }, { op: 'grayscale' }] } });
      expect(made.status).toBe(202);
      const id = ((await made.json()) as { id: string }).id;
      type Done = { status: string; worker_id: string | null; result: { blob: string; width: number; height: number } | null };
      const done = await waitFor(async () => {
        const t = (await (await call(b, 'GET', `/api/v1/tasks/${id}`, acme)).json()) as Done;
        return t.status === 'succeeded' && t;
      }, 'the image task succeeded', 30_000);
      expect(done.worker_id).toBe(`${wid}-1`);
      expect([done.result!.width, done.result!.height]).toEqual([16, 8]);
      // The output, stored by B's worker with PutBlob, downloaded through A.
      const out = await call(a, 'GET', `/api/v1/blobs/${done.result!.blob}`, acme);
      expect(out.status).toBe(200);
      const meta = await sharp(Buffer.from(await out.arrayBuffer())).metadata();
      expect([meta.width, meta.height, meta.channels]).toEqual([16, 8, 1]);
      expect((await call(a, 'GET', `/api/v1/blobs/${done.result!.blob}`, globex)).status).toBe(404);
      expect((await queryRows<{ n: string }>(url, 'SELECT count(*) AS n FROM tw_blobs'))[0]!.n).toBe('2');

      // A batch made through B is held by B (its worker runs it) and read through A, by id and in the listing.
      const batchRes = await call(b, 'POST', '/api/v1/images', acme, { ops: [{ op: 'flip' }], images: [blob] });
      expect(batchRes.status).toBe(202);
      const batchId = ((await batchRes.json()) as { id: string }).id;
      type BatchJson = { id: string; status: string; counts: { succeeded: number; total: number }; images: { worker_id: string | null }[] };
      const seenOnA = await waitFor(async () => {
        const r = await call(a, 'GET', `/api/v1/batches/${batchId}`, acme);
        const v = r.status === 200 ? ((await r.json()) as BatchJson) : undefined;
        return v?.status === 'succeeded' && v;
      }, "B's batch succeeded, read through A", 30_000);
      expect(seenOnA.counts).toMatchObject({ succeeded: 1, total: 1 });
      expect(seenOnA.images[0]!.worker_id).toBe(`${wid}-1`);
      const listed = (await (await call(a, 'GET', '/api/v1/batches', acme)).json()) as { batches: { id: string }[] };
      expect(listed.batches.map((x) => x.id)).toEqual([batchId]);
      expect((await call(a, 'GET', `/api/v1/batches/${batchId}`, globex)).status).toBe(404);
      expect((await call(a, 'GET', `/api/v1/batches/${batchId}/zip`, acme)).status).toBe(200);
      // A change goes through the master that holds it.
      const retry = await call(a, 'POST', `/api/v1/batches/${batchId}/retry`, acme);
      expect(retry.status).toBe(409);
      expect(((await retry.json()) as { error: { message: string } }).error.message).toContain(b.options.masterId);
      // A restart of A does not take over a batch B holds: B's worker away, B's next batch is made (its image
      // task is pooled, and A's worker may run it: blobs are shared); A restarts and leaves the batch to B,
      // which finishes it wherever its image ran, and A then shows it (a copy A held would stay queued).
      await workers.pop()!.close();
      const waiting = ((await (await call(b, 'POST', '/api/v1/images', acme, { ops: [{ op: 'grayscale' }], images: [blob] })).json()) as { id: string }).id;
      await masters.shift()!.close();
      masters.unshift(await Master.create({ ...common, masterId: a.options.masterId }, { logger: { logger: silentLogger() } }));
      const a2 = masters[0]!;
      expect((await queryRows<{ master: string }>(url, 'SELECT master FROM taskwire_batches WHERE id = $1', [waiting]))[0]!.master).toBe(b.options.masterId);
      workers.push(await Worker.create({ workerId: `${wid}-1`, mqttUrl: broker.url, topicRoot, logToStdout: false, capacity: 2, kinds: ['image'] }, { logger: { logger: silentLogger() }, handlers: [new ImageHandler()] }));
      await waitFor(async () => ((await (await call(a2, 'GET', `/api/v1/batches/${waiting}`, acme)).json()) as BatchJson).status === 'succeeded', "B's batch finished, shown by the restarted A", 30_000);
      const imageTasks = await queryRows<{ n: string }>(url, "SELECT count(*) AS n FROM tasks WHERE kind = 'image'");
      expect(imageTasks[0]!.n).toBe('3'); // the direct task and one per batch: none started again by A
    } finally {
      for (const w of workers) await w.close();
      for (const m of masters.reverse()) await m.close();
    }
  });

  it('placement changed on A (strategy per scope, slow start) is in force on B within seconds and after a restart; a write PostgreSQL refuses is a 503 and changes nothing on A', { timeout: 120_000 }, async () => {
    const url = await server.createDatabase();
    const topicRoot = uniqueId('tw');
    const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi' as const, mqttUrl: broker.url, topicRoot, adminKey: ADMIN, placement: 'sleep=round-robin' };
    const masters: Master[] = [];
    try {
      masters.push(await Master.create({ ...common, masterId: uniqueId('ma') }, { logger: { logger: silentLogger() } }));
      masters.push(await Master.create({ ...common, masterId: uniqueId('mb') }, { logger: { logger: silentLogger() } }));
      const base = (m: Master) => `http://127.0.0.1:${m.httpPort}`;
      const call = async (m: Master, method: string, path: string, body?: unknown) => {
        const r = await fetch(`${base(m)}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: r.status, body: (await r.json()) as any };
      };
      const view = async (m: Master) => (await call(m, 'GET', '/api/v1/placement')).body as { strategies: Record<string, string>; slow_start_ms: number };
      const [a, b] = masters as [Master, Master];
      expect((await view(b)).strategies).toMatchObject({ default: 'least-loaded', sleep: 'round-robin' });
      expect((await call(a, 'PUT', '/api/v1/placement/echo', { strategy: 'least-connections' })).body).toMatchObject({ scope: 'echo', before: null, after: 'least-connections' });
      expect((await call(a, 'DELETE', '/api/v1/placement/sleep')).status).toBe(200);
      expect((await call(a, 'PUT', '/api/v1/placement', { slow_start_ms: 7000 })).status).toBe(200);
      await waitFor(async () => {
        const v = await view(b);
        return v.strategies.echo === 'least-connections' && v.strategies.sleep === undefined && v.slow_start_ms === 7000;
      }, "A's placement on B", 15_000);
      // B does not write them again (no audit of its own): the one config.changed per change is A's.
      const changes = await queryRows<{ n: string }>(url, "SELECT count(*) AS n FROM tw_events WHERE type = 'config.changed'");
      expect(Number(changes[0]!.n)).toBe(3);
      // PostgreSQL refuses the write: 503 on A, and A's router is as it was.
      await queryRows(url, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
      await queryRows(url, 'CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON tw_placement_settings FOR EACH ROW EXECUTE FUNCTION refuse()');
      const refused = await call(a, 'PUT', '/api/v1/placement/echo', { strategy: 'round-robin' });
      expect([refused.status, refused.body.error.code]).toEqual([503, 'UNAVAILABLE']);
      expect(refused.body.error.message).toMatch(/placement settings could not be kept/);
      expect((await call(a, 'PUT', '/api/v1/placement', { slow_start_ms: 1 })).status).toBe(503);
      expect(await view(a)).toMatchObject({ strategies: { echo: 'least-connections' }, slow_start_ms: 7000 });
      await queryRows(url, 'DROP TRIGGER refuse ON tw_placement_settings');
      // A master started later (or restarted) takes them from the database over its TASKWIRE_PLACEMENT.
      await masters.pop()!.close();
      masters.push(await Master.create({ ...common, masterId: uniqueId('mc') }, { logger: { logger: silentLogger() } }));
      const v = await view(masters[1]!);
      expect(v.strategies.echo).toBe('least-connections');
      expect(v.strategies.sleep).toBeUndefined();
      expect(v.slow_start_ms).toBe(7000);
    } finally {
      for (const m of masters.reverse()) await m.close();
    }
  });
});
