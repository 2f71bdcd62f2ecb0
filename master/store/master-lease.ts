/**
 * Multi-master: a master's membership, a row of `taskwire_masters` with a
 * lease on the database's clock (no clock skew between hosts). Joining
 * gives the master a new epoch (each start is a new incarnation: an earlier
 * one's tasks are re-queued at once); the heartbeat renews the lease only for
 * that epoch, so a master whose row the leader removed (its lease ran out:
 * frozen, partitioned, too slow) learns it is out and must stop.
 */
import type pg from 'pg';
import { POOL_CHANNEL } from './postgres-fence.js';

/** Unfinished tasks of an owner back to the pool (status queued, no owner). */
export const REQUEUE = `UPDATE tasks SET owner = NULL, owner_epoch = NULL, status = 'queued', assigned_at = NULL`;

export class MasterLease {
  private constructor(
    private readonly pool: pg.Pool,
    readonly id: string,
    readonly epoch: number,
    private readonly leaseMs: number,
  ) {}

  /** Registers the master (a new epoch) and re-queues what an earlier incarnation of the same id held. */
  static async join(pool: pg.Pool, id: string, leaseMs: number): Promise<{ lease: MasterLease; requeued: number }> {
    const r = await pool.query<{ epoch: number }>(
      `INSERT INTO taskwire_masters (id, epoch, lease_until) VALUES ($1, nextval('taskwire_epochs'), now() + $2 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, lease_until = excluded.lease_until, started_at = now()
       RETURNING epoch`,
      [id, leaseMs],
    );
    const epoch = Number(r.rows[0]!.epoch);
    const old = await pool.query(`${REQUEUE} WHERE owner = $1 AND owner_epoch <> $2 AND finished_at IS NULL`, [id, epoch]);
    if ((old.rowCount ?? 0) > 0) await pool.query(`SELECT pg_notify('${POOL_CHANNEL}', '')`);
    return { lease: new MasterLease(pool, id, epoch, leaseMs), requeued: old.rowCount ?? 0 };
  }

  /** Renews the lease; false when this incarnation is no longer a member (the leader removed it). */
  async renew(): Promise<boolean> {
    const r = await this.pool.query(`UPDATE taskwire_masters SET lease_until = now() + $3 * interval '1 millisecond' WHERE id = $1 AND epoch = $2`, [
      this.id,
      this.epoch,
      this.leaseMs,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  /** The members whose lease has not run out, by id. */
  async live(): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(`SELECT id FROM taskwire_masters WHERE lease_until > now() ORDER BY id`);
    return r.rows.map((x) => x.id);
  }

  /** A clean stop: its unfinished tasks back to the pool at once, then the row removed. */
  async leave(): Promise<number> {
    const r = await this.pool.query(`${REQUEUE} WHERE owner = $1 AND owner_epoch = $2 AND finished_at IS NULL`, [this.id, this.epoch]);
    await this.pool.query(`DELETE FROM taskwire_masters WHERE id = $1 AND epoch = $2`, [this.id, this.epoch]);
    if ((r.rowCount ?? 0) > 0) await this.pool.query(`SELECT pg_notify('${POOL_CHANNEL}', '')`);
    return r.rowCount ?? 0;
  }
}
