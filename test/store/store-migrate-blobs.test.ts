/**
 * `taskwire store migrate` carries the data dir's blobs into PostgreSQL
 * (master/blobs/blob-files-migrate.ts): a master on SQLite takes uploads of
 * two tenants (one blob over 1 MiB), a task's output is granted and recorded
 * as the output of an (input, chain) through the file store's API; after the
 * migration a master in multi mode on that database serves each blob's bytes
 * and content type to its tenants only, the large one is in several 1 MiB
 * rows, and the recorded output is found. A repeat (through the CLI, which
 * prints the blobs' counts) copies nothing twice; a blob file damaged on disk
 * stops the copy, which then keeps nothing. A single master already on
 * PostgreSQL keeps its blobs in its data dir (a multi master answers 404 for
 * them): `store migrate --blobs-only` copies those and nothing else (the
 * tasks untouched), once; it refuses a database with no cluster, and the
 * full migration of such a data dir names the flag.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { BlobStore, sha256Hex } from '../../master/blobs/blob-store.js';
import { PostgresBlobStore } from '../../master/blobs/postgres-blob-store.js';
import { Master } from '../../master/master.js';
import { copyRoomTables, prepareRoomTables } from '../../master/postgres-rooms-migrate.js';
import { openRoomPool } from '../../master/store/postgres-room-schema.js';
import { migrateStore } from '../../master/store/store-migrate.js';
import { startCluster, uniqueId } from '../helpers/cluster.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { assertCliBuilt, REPO_ROOT, TASKWIRE_CLI } from '../helpers/processes.js';

const available = postgresAvailable() && mosquittoAvailable();
const ADMIN = 'tw_admin_secret_for_the_migrate_blobs_test_0123456789';
const rooms = { prepare: prepareRoomTables, copy: copyRoomTables };
const run = promisify(execFile);
const count = async (url: string, sql: string, params: unknown[] = []) => Number((await queryRows<{ n: string }>(url, sql, params))[0]!.n);

const call = async (base: string, method: string, path: string, key: string, body?: unknown, raw?: { data: Buffer; type: string }): Promise<Response> =>
  fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': raw?.type ?? 'application/json' }, body: raw ? new Uint8Array(raw.data) : body === undefined ? undefined : JSON.stringify(body) });

describe.skipIf(!available)(`store migrate: the blobs${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres;
  let broker: Mosquitto;
  const dirs: string[] = [];
  beforeAll(async () => {
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  }, 60_000);
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await Promise.all([server?.close(), broker?.close()]);
  });
  const dir = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };

  it('bytes, content types, grants and recorded outputs move; a large blob in 1 MiB rows; a multi master serves them; a repeat copies nothing twice', { timeout: 120_000 }, async () => {
    const data = dir('tw-mig-blobs-sqlite-');
    const small = randomBytes(3000);
    const large = randomBytes(2.5 * 1024 * 1024); // three rows of tw_blob_chunks
    const output = randomBytes(5000);
    const a = await startCluster({ workers: 0, master: { dataDir: data, adminKey: ADMIN } });
    const keys: Record<string, string> = {};
    try {
      for (const tenant of ['acme', 'globex']) {
        expect((await call(a.httpUrl, 'POST', '/api/v1/admin/tenants', ADMIN, { id: tenant })).status).toBe(201);
        keys[tenant] = ((await (await call(a.httpUrl, 'POST', '/api/v1/admin/keys', ADMIN, { tenant })).json()) as { secret: string }).secret;
      }
      expect((await call(a.httpUrl, 'POST', '/api/v1/blobs', keys.acme!, undefined, { data: small, type: 'image/png' })).status).toBe(201);
      expect((await call(a.httpUrl, 'POST', '/api/v1/blobs', keys.globex!, undefined, { data: large, type: 'application/x-test' })).status).toBe(201);
    } finally {
      await a.close();
    }
    // What the image pipeline leaves besides uploads (batch-service.ts): an output its task's
    // tenant may read, recorded under its input and chain; and a grant to a tenant this data
    // dir no longer knows (no name to give it on PostgreSQL).
    const files = new BlobStore({ dir: join(data, 'blobs') });
    const out = await files.put(output, 'image/webp', 'acme');
    const record = JSON.stringify({ blob: out.id, content_type: 'image/webp' });
    await files.link(`${sha256Hex(small)}|resize:8x8`, record);
    await files.grant(sha256Hex(small), 'gone-tenant');

    const url = await server.createDatabase();
    const r = await migrateStore({ from: data, to: url, rooms });
    expect(r.rooms).toMatchObject({ blobs: 3, blobs_copied: 3, blob_bytes_copied: small.length + large.length + output.length, blob_grants: 3, blob_grants_unmatched: 1, blob_derived: 1 });
    expect(await count(url, 'SELECT count(*) AS n FROM tw_blob_chunks WHERE id = $1', [sha256Hex(large)])).toBe(3);

    // Repeated through the CLI: everything found, nothing copied again.
    assertCliBuilt();
    const cli = await run(process.execPath, [TASKWIRE_CLI, 'store', 'migrate', '--from', data, '--to', url], { cwd: REPO_ROOT, env: { ...process.env, TASKWIRE_STORE: '', TASKWIRE_STORE_FILE: '' } });
    expect(cli.stdout).toMatch(/\nblobs: 3 \(0 new on the target: 0 bytes copied\), 3 tenant grant\(s\) \(1 to no known tenant, not copied\), 1 recorded output\(s\)\n$/);
    for (const [table, n] of [['tw_blobs', 3], ['tw_blob_chunks', 5], ['tw_blob_grants', 3], ['tw_blob_derived', 1]] as const) expect(await count(url, `SELECT count(*) AS n FROM ${table}`)).toBe(n);

    // Through the PostgreSQL blob store: the recorded output, the grants by tenant name.
    const pool = openRoomPool(url);
    try {
      const pgBlobs = await PostgresBlobStore.open(pool);
      expect(await pgBlobs.derived(`${sha256Hex(small)}|resize:8x8`)).toBe(record);
      expect(await pgBlobs.info(out.id)).toEqual({ id: out.id, size: output.length, contentType: 'image/webp' });
      expect(await pgBlobs.readableBy(sha256Hex(small), 'acme')).toBe(true);
      expect(await pgBlobs.readableBy(sha256Hex(small), 'globex')).toBe(false);
      expect(await pgBlobs.readableBy(sha256Hex(small), 'gone-tenant')).toBe(false);
    } finally {
      await pool.end();
    }

    // A master in multi mode (its own empty data dir) serves each blob to its tenants.
    const b = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi', mqttUrl: broker.url, topicRoot: uniqueId('tw'), adminKey: ADMIN, masterId: uniqueId('mb'), dataDir: dir('tw-mig-blobs-pg-') },
      { logger: { logger: silentLogger() } },
    );
    try {
      const base = `http://127.0.0.1:${b.httpPort}`;
      for (const [tenant, bytes, type] of [['acme', small, 'image/png'], ['globex', large, 'application/x-test'], ['acme', output, 'image/webp']] as const) {
        const got = await call(base, 'GET', `/api/v1/blobs/${sha256Hex(bytes)}`, keys[tenant]!);
        expect(got.status).toBe(200);
        expect(got.headers.get('content-type')).toBe(type);
        expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
      }
      expect((await call(base, 'GET', `/api/v1/blobs/${sha256Hex(small)}`, keys.globex!)).status).toBe(404);
      expect((await call(base, 'GET', `/api/v1/blobs/${sha256Hex(large)}`, keys.acme!)).status).toBe(404);
    } finally {
      await b.close();
    }
  });

  it('a blob file whose bytes do not match its name stops the copy, naming it; nothing is kept', async () => {
    const data = dir('tw-mig-blobs-damaged-');
    new Database(join(data, 'taskwire.db')).close(); // an empty store: migrate gives it today's tables
    const files = new BlobStore({ dir: join(data, 'blobs') });
    const good = await files.put(randomBytes(1000), 'image/png', 'default');
    const bad = await files.put(randomBytes(1.5 * 1024 * 1024), 'image/png', 'default');
    writeFileSync(join(data, 'blobs', bad.id.slice(0, 2), bad.id), randomBytes(bad.size)); // same size, other bytes
    const url = await server.createDatabase();
    await expect(migrateStore({ from: data, to: url, rooms })).rejects.toThrow(new RegExp(`blob file ${bad.id} in .* holds other bytes`));
    expect(await count(url, 'SELECT count(*) AS n FROM tw_blobs')).toBe(0);
    expect(good.id).not.toBe(bad.id);
  });

  it('--blobs-only: the data dir blobs of a single master on PostgreSQL reach the multi masters; tasks untouched; a repeat copies nothing; no cluster: refused', { timeout: 120_000 }, async () => {
    assertCliBuilt();
    const url = await server.createDatabase();
    const data = dir('tw-mig-blobs-single-pg-');
    const mine = randomBytes(4000);
    const theirs = randomBytes(1.2 * 1024 * 1024);
    const keys: Record<string, string> = {};
    const single = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, store: url, adminKey: ADMIN, masterId: uniqueId('ms'), dataDir: data },
      { logger: { logger: silentLogger() } },
    );
    let queued: string;
    try {
      const base = `http://127.0.0.1:${single.httpPort}`;
      for (const tenant of ['acme', 'globex']) {
        expect((await call(base, 'POST', '/api/v1/admin/tenants', ADMIN, { id: tenant })).status).toBe(201);
        keys[tenant] = ((await (await call(base, 'POST', '/api/v1/admin/keys', ADMIN, { tenant })).json()) as { secret: string }).secret;
      }
      expect((await call(base, 'POST', '/api/v1/blobs', keys.acme!, undefined, { data: mine, type: 'image/png' })).status).toBe(201);
      expect((await call(base, 'POST', '/api/v1/blobs', keys.globex!, undefined, { data: theirs, type: 'application/x-test' })).status).toBe(201);
      const t = await call(base, 'POST', '/api/v1/tasks', keys.acme!, { kind: 'sleep', input: { ms: 10 }, timeout_ms: 600_000 });
      expect(t.status, await t.clone().text()).toBe(202);
      queued = ((await t.json()) as { id: string }).id; // no worker: it stays queued, a row of the database
    } finally {
      await single.close();
    }
    // The gap: the blobs are files of the data dir, none in the database.
    expect(await count(url, 'SELECT count(*) AS n FROM tw_blobs')).toBe(0);
    const rowsBefore = await queryRows(url, 'SELECT * FROM tasks ORDER BY id');
    expect(rowsBefore.map((r) => (r as { id: string }).id)).toEqual([queued]);

    const cli = (...args: string[]) => run(process.execPath, [TASKWIRE_CLI, 'store', 'migrate', ...args], { cwd: REPO_ROOT, env: { ...process.env, TASKWIRE_STORE: '', TASKWIRE_STORE_FILE: '' } });
    const failing = async (...args: string[]) => cli(...args).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));
    // The full migration of this data dir (no taskwire.db: the master was on PostgreSQL) names the flag.
    const full = await failing('--from', data, '--to', url);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/no taskwire\.db in this directory .*--blobs-only copies its blobs/);

    const first = await cli('--blobs-only', '--from', data, '--to', url);
    expect(first.stdout).toBe(
      `copied the blobs of ${join(data, 'blobs')} to ${url.replace(/:[^:@/]+@/, ':***@')} (blobs only: its 1 task(s), rooms and batches left as they are)\n` +
        `blobs: 2 (2 new on the target: ${mine.length + theirs.length} bytes copied), 2 tenant grant(s), 0 recorded output(s)\n`,
    );
    const again = await cli('--blobs-only', '--from', data, '--to', url, '-o', 'json');
    expect(JSON.parse(again.stdout)).toMatchObject({ targetTasks: 1, blobs: { blobs: 2, blobs_copied: 0, blob_bytes_copied: 0, blob_grants: 2, blob_grants_unmatched: 0 } });
    for (const [table, n] of [['tw_blobs', 2], ['tw_blob_chunks', 3], ['tw_blob_grants', 2]] as const) expect(await count(url, `SELECT count(*) AS n FROM ${table}`)).toBe(n);
    expect(await queryRows(url, 'SELECT * FROM tasks ORDER BY id')).toEqual(rowsBefore);

    // The multi masters that follow serve each blob to its tenant only.
    const b = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi', mqttUrl: broker.url, topicRoot: uniqueId('tw'), adminKey: ADMIN, masterId: uniqueId('mb'), dataDir: dir('tw-mig-blobs-multi-') },
      { logger: { logger: silentLogger() } },
    );
    try {
      const base = `http://127.0.0.1:${b.httpPort}`;
      for (const [tenant, bytes, type] of [['acme', mine, 'image/png'], ['globex', theirs, 'application/x-test']] as const) {
        const got = await call(base, 'GET', `/api/v1/blobs/${sha256Hex(bytes)}`, keys[tenant]!);
        expect(got.status).toBe(200);
        expect(got.headers.get('content-type')).toBe(type);
        expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
      }
      expect((await call(base, 'GET', `/api/v1/blobs/${sha256Hex(mine)}`, keys.globex!)).status).toBe(404);
    } finally {
      await b.close();
    }

    // A database where no master ran: refused, nothing copied.
    const empty = await server.createDatabase();
    const refused = await failing('--blobs-only', '--from', data, '--to', empty);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/holds no taskwire cluster: --blobs-only copies the blobs of a master already on this database/);
    expect(await count(empty, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'tw_blobs'")).toBe(0);
  });
});
