/**
 * `taskwire store migrate` carries the data dir's image batches into
 * PostgreSQL (master/batches/batch-files-migrate.ts): batches written into
 * the data dir's batches.db through the SQLite batch store (one finished,
 * one still running, several images each) are rows of taskwire_batches and
 * taskwire_batch_items after the migration, with no holding master, and the
 * PostgreSQL batch store reads them back equal to what was written. A repeat
 * (through the CLI, which prints the batches' line) copies nothing and
 * changes no row.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { StoredBatch, StoredItem } from '../../master/batches/batch-store.js';
import { PostgresBatchStore } from '../../master/batches/postgres-batch-store.js';
import { SqliteBatchStore } from '../../master/batches/sqlite-batch-store.js';
import { copyRoomTables, prepareRoomTables } from '../../master/postgres-rooms-migrate.js';
import { migrateStore } from '../../master/store/store-migrate.js';
import { postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';
import { assertCliBuilt, REPO_ROOT, TASKWIRE_CLI } from '../helpers/processes.js';

const available = postgresAvailable();
const rooms = { prepare: prepareRoomTables, copy: copyRoomTables };
const run = promisify(execFile);

function item(n: number, status: StoredItem['status']): StoredItem {
  const blob = n.toString(16).padStart(64, '0');
  return {
    name: `img-${n}.png`,
    blob,
    key: `${blob}|grayscale`,
    taskId: status === 'queued' ? null : `task-${n}`,
    status,
    attempts: status === 'queued' ? 0 : 1,
    output: status === 'succeeded' ? { blob: 'f'.repeat(63) + (n % 10), bytes: 100 + n, width: 8, height: 8, format: 'png', content_type: 'image/png', ms: 5 } : null,
    workerId: status === 'queued' ? null : 'worker-1',
    ms: status === 'succeeded' || status === 'failed' ? 5 : null,
    cached: false,
    error: status === 'failed' ? { code: 'BAD_INPUT', message: 'not an image' } : null,
  };
}

describe.skipIf(!available)(`store migrate: the batches${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, dir: tempDir } = postgresRoomsFixture();

  it('finished and running batches with their items move, held by no master; the PostgreSQL store reads them as written; a repeat copies nothing', { timeout: 60_000 }, async () => {
    const data = tempDir('tw-mig-batches-');
    new Database(join(data, 'taskwire.db')).close(); // an empty store: migrate gives it today's tables
    const finished: StoredBatch = {
      id: `batch-${randomUUID()}`,
      caller: { tenant: 'acme', owner: 'key-1' },
      ops: [{ op: 'grayscale' }],
      items: [item(1, 'succeeded'), item(2, 'failed'), item(3, 'succeeded')],
      createdAtMs: 1_700_000_000_000,
      finishedAtMs: 1_700_000_060_000,
    };
    const running: StoredBatch = {
      id: `batch-${randomUUID()}`,
      caller: {},
      ops: [{ op: 'resize', fit: 'cover', width: 4, height: 4 }],
      items: [item(4, 'succeeded'), item(5, 'running'), item(6, 'queued'), item(7, 'queued')],
      createdAtMs: 1_700_000_100_000,
      finishedAtMs: null,
    };
    const files = new SqliteBatchStore(join(data, 'batches.db'));
    files.put(finished, 'all');
    files.put(running, 'all');
    await files.flush();
    await files.close();

    const url = await server().createDatabase();
    const r = await migrateStore({ from: data, to: url, rooms });
    expect(r.rooms).toMatchObject({ batches: 2, batches_copied: 2, batch_items: 7 });
    const headers = await queryRows<{ id: string; tenant: string; owner: string | null; status: string; finished_at: string | null; master: string | null; record: string }>(
      url,
      'SELECT id, tenant, owner, status, finished_at, master, record FROM taskwire_batches ORDER BY created_at',
    );
    expect(headers.map((h) => [h.id, h.tenant, h.owner, h.status, h.finished_at === null ? null : Number(h.finished_at), h.master])).toEqual([
      [finished.id, 'acme', 'key-1', 'failed', finished.finishedAtMs, null],
      [running.id, 'default', null, 'running', null, null],
    ]);
    for (const h of headers) expect(JSON.parse(h.record)).not.toHaveProperty('master');
    const items = await queryRows<{ batch_id: string; idx: number; record: string }>(url, 'SELECT batch_id, idx, record FROM taskwire_batch_items ORDER BY batch_id, idx');
    expect(items).toHaveLength(7);
    for (const b of [finished, running]) expect(items.filter((i) => i.batch_id === b.id).map((i) => JSON.parse(i.record))).toEqual(b.items);

    const store = await PostgresBatchStore.open(url);
    try {
      expect(await store.load()).toEqual([finished, running]);
      expect(await store.read([running.id])).toEqual([running]);
    } finally {
      await store.close();
    }

    // Repeated through the CLI: both found, nothing copied, no row changed.
    const before = await queryRows(url, 'SELECT * FROM taskwire_batches ORDER BY id');
    const itemsBefore = await queryRows(url, 'SELECT * FROM taskwire_batch_items ORDER BY batch_id, idx');
    assertCliBuilt();
    const cli = await run(process.execPath, [TASKWIRE_CLI, 'store', 'migrate', '--from', data, '--to', url], { cwd: REPO_ROOT, env: { ...process.env, TASKWIRE_STORE: '', TASKWIRE_STORE_FILE: '' } });
    expect(cli.stdout).toMatch(/\nbatches: 2 \(0 new on the target\), 7 image\(s\)\n$/);
    expect(await queryRows(url, 'SELECT * FROM taskwire_batches ORDER BY id')).toEqual(before);
    expect(await queryRows(url, 'SELECT * FROM taskwire_batch_items ORDER BY batch_id, idx')).toEqual(itemsBefore);
  });

  it('a batch already on the target is kept as it is (a master on the database moved it on)', async () => {
    const data = tempDir('tw-mig-batches-kept-');
    new Database(join(data, 'taskwire.db')).close();
    const old: StoredBatch = { id: `batch-${randomUUID()}`, caller: {}, ops: [{ op: 'grayscale' }], items: [item(1, 'queued'), item(2, 'queued')], createdAtMs: 1_700_000_000_000, finishedAtMs: null };
    const files = new SqliteBatchStore(join(data, 'batches.db'));
    files.put(old, 'all');
    await files.close();
    const url = await server().createDatabase();
    expect((await migrateStore({ from: data, to: url, rooms })).rooms).toMatchObject({ batches: 1, batches_copied: 1, batch_items: 2 });
    // On PostgreSQL the batch went on (held and finished by a master there).
    const moved: StoredBatch = { ...old, items: [item(1, 'succeeded'), item(2, 'succeeded')], finishedAtMs: 1_700_000_050_000, master: 'm-1' };
    const store = await PostgresBatchStore.open(url);
    try {
      store.put(moved, 'all');
      await store.flush();
      expect((await migrateStore({ from: data, to: url, rooms })).rooms).toMatchObject({ batches: 1, batches_copied: 0, batch_items: 2 });
      expect(await store.read([old.id])).toEqual([moved]);
    } finally {
      await store.close();
    }
  });
});
