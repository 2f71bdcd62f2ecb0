/**
 * Multi-master: the leader, one row of `taskwire_leader` with a lease and a
 * term (as Oban and River elect theirs). A master takes the row when its
 * lease ran out, renews it while it holds it; a new holder gets term + 1.
 * The leader runs the cluster-wide duties, each fenced by its lease in the
 * same statement (a deposed leader's sweep changes nothing):
 *
 * - dead masters (lease ran out) are removed, and every unfinished task
 *   owned by an incarnation that is no longer a member goes back to the
 *   pool (status queued, no owner) for a live master to claim;
 * - pruning of finished tasks (the store prunes only on the leader).
 */
import type pg from 'pg';
import { POOL_CHANNEL } from './postgres-fence.js';
import { REQUEUE } from './master-lease.js';

const ACQUIRE = `INSERT INTO taskwire_leader (one, master_id, epoch, term, lease_until) VALUES (1, $1, $2, 1, now() + $3 * interval '1 millisecond')
  ON CONFLICT (one) DO UPDATE SET master_id = excluded.master_id, epoch = excluded.epoch, lease_until = excluded.lease_until,
    term = CASE WHEN taskwire_leader.master_id = excluded.master_id AND taskwire_leader.epoch = excluded.epoch THEN taskwire_leader.term ELSE taskwire_leader.term + 1 END
  WHERE taskwire_leader.lease_until < now() OR (taskwire_leader.master_id = excluded.master_id AND taskwire_leader.epoch = excluded.epoch)
  RETURNING term`;
const AM_LEADER = `EXISTS (SELECT 1 FROM taskwire_leader l WHERE l.master_id = $1 AND l.epoch = $2 AND l.lease_until > now())`;
const REMOVE_DEAD = `DELETE FROM taskwire_masters WHERE lease_until < now() AND ${AM_LEADER} RETURNING id, epoch`;
const REQUEUE_ORPHANS = `${REQUEUE} WHERE owner IS NOT NULL AND finished_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM taskwire_masters m WHERE m.id = tasks.owner AND m.epoch = tasks.owner_epoch) AND ${AM_LEADER}`;

export class LeaderLease {
  /** The term while this master leads, else 0. */
  term = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly id: string,
    private readonly epoch: number,
    private readonly leaseMs: number,
  ) {}

  get leading(): boolean {
    return this.term > 0;
  }

  /** Takes or renews the lease; true while this master leads. */
  async tick(): Promise<boolean> {
    const r = await this.pool.query<{ term: number }>(ACQUIRE, [this.id, this.epoch, this.leaseMs]);
    this.term = r.rows[0] ? Number(r.rows[0].term) : 0;
    return this.leading;
  }

  /** The leader's sweep: dead masters out, their tasks (and any orphan) back to the pool. */
  async sweep(): Promise<{ dead: { id: string; epoch: number }[]; requeued: number }> {
    const dead = (await this.pool.query<{ id: string; epoch: number }>(REMOVE_DEAD, [this.id, this.epoch])).rows.map((r) => ({ id: r.id, epoch: Number(r.epoch) }));
    const r = await this.pool.query(REQUEUE_ORPHANS, [this.id, this.epoch]);
    const requeued = r.rowCount ?? 0;
    if (requeued > 0) await this.pool.query(`SELECT pg_notify('${POOL_CHANNEL}', '')`);
    return { dead, requeued };
  }

  /** Gives the lease up (clean stop): another master takes it on its next tick. */
  async resign(): Promise<void> {
    if (!this.leading) return;
    this.term = 0;
    await this.pool.query(`DELETE FROM taskwire_leader WHERE master_id = $1 AND epoch = $2`, [this.id, this.epoch]);
  }
}
