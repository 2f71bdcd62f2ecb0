/**
 * The batch store's take-over on a real PostgreSQL with the cluster's
 * membership table: an unfinished batch whose holder has no live lease, or
 * that has no holder at all (a single master's batch, or one `store
 * migrate` copied), goes to exactly one of several masters asking at once;
 * a batch held by a live master, or finished, stays; the old holder's later
 * header write no longer changes it.
 */
import { describe, expect, it } from 'vitest';
import { PostgresBatchStore } from '../../master/batches/postgres-batch-store.js';
import type { StoredBatch } from '../../master/batches/batch-store.js';
import { ensureClusterSchema } from '../../master/store/cluster-schema.js';
import { MasterLease } from '../../master/store/master-lease.js';
import { migratePostgres } from '../../master/store/postgres-schema.js';
import { postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';

const available = postgresAvailable();

const batch = (id: string, master: string | undefined, finished = false): StoredBatch => ({
  id,
  caller: { tenant: 'default' },
  ops: [{ op: 'grayscale' }],
  items: [{ name: 'a.png', blob: 'b'.repeat(64), key: 'k'.repeat(64), taskId: `t-${id}`, status: finished ? 'succeeded' : 'queued', attempts: 1, output: null, workerId: null, ms: null, cached: false, error: null }],
  createdAtMs: 1_000,
  finishedAtMs: finished ? 2_000 : null,
  ...(master !== undefined && { master }),
});

describe.skipIf(!available)(`batch take-over on PostgreSQL${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, pool } = postgresRoomsFixture();

  it('gives the unfinished batches of a master with no live lease, and those with no holder, to one master; the rest stay', async () => {
    const url = await server().createDatabase();
    const p = pool(url);
    const c = await p.connect();
    try {
      await migratePostgres(c);
      await ensureClusterSchema(c);
    } finally {
      c.release();
    }
    for (const id of ['live', 'b1', 'b2']) await MasterLease.join(p, id, 60_000);
    await MasterLease.join(p, 'dead', 60_000);
    await p.query(`UPDATE taskwire_masters SET lease_until = now() - interval '1 second' WHERE id = 'dead'`);
    const stores = await Promise.all([PostgresBatchStore.open(url), PostgresBatchStore.open(url), PostgresBatchStore.open(url)]);
    const [writer, b1, b2] = stores as [PostgresBatchStore, PostgresBatchStore, PostgresBatchStore];
    try {
      const ids = { ofDead: 'batch-dead', none: 'batch-none', ofLive: 'batch-live', doneDead: 'batch-done', ofAsker: 'batch-b1' };
      for (const b of [batch(ids.ofDead, 'dead'), batch(ids.none, undefined), batch(ids.ofLive, 'live'), batch(ids.doneDead, 'dead', true), batch(ids.ofAsker, 'b1')]) writer.put(b, 'all');
      await writer.flush();

      // Two masters ask at once: each batch to take goes to one of them.
      const [t1, t2] = await Promise.all([b1.takeOver('b1'), b2.takeOver('b2')]);
      const taken = [...t1.map((b) => b.id), ...t2.map((b) => b.id)].sort();
      expect(taken).toEqual([ids.ofDead, ids.none].sort());
      const holders = new Map((await queryRows<{ id: string; master: string | null }>(url, 'SELECT id, master FROM taskwire_batches')).map((r) => [r.id, r.master]));
      expect(holders.get(ids.ofLive)).toBe('live');
      expect(holders.get(ids.doneDead)).toBe('dead');
      expect(holders.get(ids.ofAsker)).toBe('b1');
      for (const b of [...t1, ...t2]) {
        expect(holders.get(b.id)).toBe(t1.includes(b) ? 'b1' : 'b2');
        expect(b.master).toBe(b.id === ids.ofDead ? 'dead' : undefined); // handed back as the old holder wrote it (for the taker's log)
      }
      // A read shows the new holder (its column).
      expect((await b1.read([ids.ofDead]))[0]!.master).toBe(holders.get(ids.ofDead));
      // Asking again takes nothing: every unfinished batch has a live holder.
      expect(await b1.takeOver('b1')).toEqual([]);
      expect(await b2.takeOver('b2')).toEqual([]);

      // The dead master's late header write changes nothing: its batch is another's now.
      writer.put({ ...batch(ids.ofDead, 'dead'), finishedAtMs: 5_000 }, []);
      await writer.flush();
      const after = (await queryRows<{ master: string; finished_at: string | null }>(url, 'SELECT master, finished_at FROM taskwire_batches WHERE id = $1', [ids.ofDead]))[0]!;
      expect(after.finished_at).toBeNull();
      expect(after.master).not.toBe('dead');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
