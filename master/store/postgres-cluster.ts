/**
 * Multi-master mode (TASKWIRE_MASTERS=multi): any number of masters on one
 * PostgreSQL database and one MQTT broker, all active. This wires the parts
 * (docs/MULTI_MASTER.md):
 *
 * - membership: master-lease.ts (a row per master, a lease, an epoch);
 * - the leader: leader-lease.ts (cluster-wide sweep and pruning);
 * - the shared pool and claims: postgres-claims.ts (SKIP LOCKED);
 * - fenced writes: postgres-fence.ts (owner + epoch + attempt in SQL);
 * - which workers this master dispatches to: worker-shares.ts.
 *
 * A master that learns it is no longer a member (its lease ran out and the
 * leader re-queued its tasks) refuses everything from then on and calls
 * `onLost` (the CLI's master exits: crash-only, a supervisor restarts it as
 * a new incarnation).
 */
import pg from 'pg';
import type { Logger } from '../../common/logger.js';
import type { WorkerStatus__Output } from '../../common/gen/taskwire/v1/WorkerStatus.js';
import type { ResolvedMasterOptions } from '../config.js';
import type { AssignmentSink } from '../core/task-dispatch.js';
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import { ensureClusterSchema } from './cluster-schema.js';
import { LeaderLease } from './leader-lease.js';
import { MasterLease } from './master-lease.js';
import { TaskClaimer } from './postgres-claims.js';
import { migratePostgres } from './postgres-schema.js';
import { PostgresTaskStore, redactPostgresUrl } from './postgres-task-store.js';
import { pgClientConfig } from './postgres-writer.js';
import { StoreUnavailableError } from './store-file-check.js';
import { WorkerShares } from './worker-shares.js';
import { PoolStandings } from './pool-standings.js';

export class MasterLeaseLostError extends Error {
  readonly code = 'UNAVAILABLE';
  constructor(detail: string) {
    super(`this master is no longer a member of the cluster (${detail}): its tasks were re-queued for the other masters`);
    this.name = 'MasterLeaseLostError';
  }
}

export interface PostgresClusterOptions {
  url: string;
  masterId: string;
  /** A master not heard from this long is dead (default 5000 ms). */
  leaseMs: number;
  log: Logger;
  /** This master lost its membership (after the store refuses everything). */
  onLost: (err: Error) => void;
}

export class PostgresCluster {
  private claimer: TaskClaimer | undefined;
  private tasks: TaskService | undefined;
  private store: PostgresTaskStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private lost = false;
  private closed = false;
  private lastRenewMs = performance.now();
  readonly leader: LeaderLease;
  /** Where the tasks in the shared pool stand (a browser's queued task this master pooled). */
  readonly standings: PoolStandings;
  shares: WorkerShares | undefined;
  readonly stats = { refused: 0, sweeps: 0, requeued: 0, deadMasters: 0, relayedFinals: 0 };

  private constructor(
    private readonly o: PostgresClusterOptions,
    private readonly pool: pg.Pool,
    readonly lease: MasterLease,
  ) {
    this.leader = new LeaderLease(pool, o.masterId, lease.epoch, o.leaseMs);
    this.standings = new PoolStandings(pool);
  }

  /** Creates the cluster tables if needed and joins as a new incarnation. */
  static async join(o: PostgresClusterOptions): Promise<PostgresCluster> {
    const pool = new pg.Pool({ ...pgClientConfig(o.url), application_name: 'taskwire-cluster', max: 3, idleTimeoutMillis: 30_000 });
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client);
        await ensureClusterSchema(client);
      } finally {
        client.release();
      }
      const { lease, requeued } = await MasterLease.join(pool, o.masterId, o.leaseMs);
      o.log.info({ master_id: o.masterId, epoch: lease.epoch, requeued }, 'joined the masters on PostgreSQL');
      return new PostgresCluster(o, pool, lease);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new StoreUnavailableError(`PostgreSQL at ${redactPostgresUrl(o.url)}: ${(err as Error).message}`);
    }
  }

  get owner(): string {
    return this.o.masterId;
  }

  get epoch(): number {
    return this.lease.epoch;
  }

  isLeader(): boolean {
    return this.leader.leading && !this.lost;
  }

  /** The store's side: this master's fence, what it hands off and what the database refused. */
  storeHooks() {
    return {
      owner: this.o.masterId,
      epoch: this.lease.epoch,
      isLeader: () => this.isLeader(),
      onHandedOff: (ids: string[]) => {
        for (const id of ids) this.tasks?.budget.release(id);
      },
      onRefused: (ids: string[]) => {
        this.stats.refused += ids.length;
        this.o.log.warn({ tasks: ids.length, first: ids[0] }, 'writes refused by the database: these tasks are no longer this master\'s');
        void this.tick(); // is this master still a member?
      },
    };
  }

  /** Starts claims, shares and the heartbeat once the master's parts exist. `apply` is what a worker status did before. */
  attach(parts: {
    store: PostgresTaskStore;
    tasks: TaskService;
    sink: AssignmentSink;
    applyStatus: (s: WorkerStatus__Output) => void;
    /** Who waits here for a task's final (gateway, KServe): told when another master finished it. */
    watchers?: { watching(id: string): boolean; finished(t: TaskRecord): void };
    /** Blobs are in the shared database (the blobs room): a task with a blob input may run on any master. */
    sharedBlobs?: boolean;
  }): void {
    this.store = parts.store;
    this.tasks = parts.tasks;
    this.shares = new WorkerShares(this.o.masterId, parts.applyStatus);
    this.claimer = new TaskClaimer({
      url: this.o.url,
      pool: this.pool,
      owner: this.o.masterId,
      epoch: this.lease.epoch,
      store: parts.store,
      tasks: parts.tasks,
      sink: parts.sink,
      log: this.o.log,
      sharedBlobs: parts.sharedBlobs,
      onFinals: parts.watchers ? (ids) => void this.relayFinals(ids, parts.store, parts.watchers!) : undefined,
    });
    const claimer = this.claimer;
    parts.tasks.useHandOff((task) => {
      if (this.lost || claimer.keep(task)) return false;
      parts.store.pool(task);
      return true;
    });
    const every = Math.max(100, Math.floor(this.o.leaseMs / 4));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  /** Finals another master announced: read those someone here waits for, and tell them. */
  private async relayFinals(ids: string[], store: PostgresTaskStore, watchers: { watching(id: string): boolean; finished(t: TaskRecord): void }): Promise<void> {
    for (const id of ids) {
      if (!watchers.watching(id)) continue;
      try {
        await store.preload({ id });
      } catch {
        continue; // PostgreSQL unreachable: the waiter times out or the client asks again
      }
      const t = store.get(id);
      if (t && t.finishedAtMs !== null) {
        this.stats.relayedFinals++;
        watchers.finished(t);
      }
    }
  }

  get claimStats(): TaskClaimer['stats'] | undefined {
    return this.claimer?.stats;
  }

  /** Heartbeat: renew the lease, see the live masters, take or renew the leader lease and sweep when leading. */
  private async tick(): Promise<void> {
    if (this.ticking || this.lost || this.closed) return;
    this.ticking = true;
    try {
      const member = await this.lease.renew();
      if (!member) {
        this.loseMembership('the leader removed it after its lease ran out');
        return;
      }
      this.lastRenewMs = performance.now();
      this.shares?.setMasters(await this.lease.live());
      const wasLeader = this.leader.leading;
      if (await this.leader.tick()) {
        if (!wasLeader) this.o.log.info({ term: this.leader.term }, 'this master leads the cluster');
        const swept = await this.leader.sweep();
        this.stats.sweeps++;
        this.stats.requeued += swept.requeued;
        this.stats.deadMasters += swept.dead.length;
        for (const d of swept.dead) this.o.log.warn({ master_id: d.id, epoch: d.epoch }, 'a master\'s lease ran out: removed');
        if (swept.requeued > 0) this.o.log.warn({ tasks: swept.requeued }, 'tasks of lost masters re-queued for the others');
      } else if (wasLeader) this.o.log.warn('this master no longer leads the cluster');
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cluster heartbeat failed');
      // PostgreSQL out of reach: a lease not renewed for its whole length is as good as lost.
      if (performance.now() - this.lastRenewMs > this.o.leaseMs) this.loseMembership(`lease not renewed for ${this.o.leaseMs} ms: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private loseMembership(detail: string): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    const err = new MasterLeaseLostError(detail);
    this.store?.fail(err);
    void this.claimer?.stop();
    this.o.log.error({ master_id: this.o.masterId, epoch: this.lease.epoch }, err.message);
    this.o.onLost(err);
  }

  /** A clean stop (after the store flushed): claims stop, this master's unfinished tasks go back to the pool, the leader lease is given up. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.standings.close();
    await this.claimer?.stop();
    while (this.ticking) await new Promise((r) => setTimeout(r, 5));
    if (!this.lost) {
      try {
        const requeued = await this.lease.leave();
        await this.leader.resign();
        this.o.log.info({ requeued }, 'left the masters: unfinished tasks are back in the pool');
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'leaving the masters failed: the leader re-queues this master\'s tasks after its lease');
      }
    }
    await this.pool.end().catch(() => undefined);
  }
}

/** The store and the cluster of a multi-master master (called instead of openTaskStore). */
export async function openClusterStore(o: ResolvedMasterOptions, log: Logger, onLost: (err: Error) => void): Promise<{ store: PostgresTaskStore; cluster: PostgresCluster }> {
  const where = redactPostgresUrl(o.store);
  const cluster = await PostgresCluster.join({ url: o.store, masterId: o.masterId, leaseMs: o.masterLeaseMs, log, onLost });
  try {
    const store = await PostgresTaskStore.open({
      url: o.store,
      maxCachedFinishedBytes: o.cacheMaxBytes,
      cluster: cluster.storeHooks(),
      onDown: (err) => log.error({ err: err.message, store: where }, 'PostgreSQL is unreachable: submits are refused until it is back'),
      onUp: () => log.info({ store: where }, 'PostgreSQL is reachable again: submits are accepted'),
    });
    log.info({ store: where, masters: 'multi' }, 'task store: PostgreSQL, shared by several masters');
    return { store, cluster };
  } catch (err) {
    await cluster.close();
    throw err;
  }
}
