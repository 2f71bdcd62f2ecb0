/**
 * Multi-master: claims from the shared pool. A task nobody owns (submitted
 * to a master with no free worker for it, or re-queued by the leader after
 * its master's lease ran out) is claimed by a master with a free worker that
 * runs it (kind, model and features: WorkerRegistry.supports, the rule local
 * placement uses), in one statement:
 *
 *   UPDATE tasks SET owner = me, owner_epoch = my epoch
 *   WHERE id = ANY(ARRAY(SELECT id … WHERE owner IS NULL AND kind = ANY(free kinds)
 *                        AND (kind, model, features) NOT IN (requirements no free worker here runs)
 *                        … LIMIT n FOR UPDATE SKIP LOCKED))
 *
 * The database does not judge a worker: the master does, in memory, for the
 * requirements it has met (its own submits, what it claimed), and sends
 * those its free workers do not run as plain values to leave. A requirement
 * it has not met yet may be claimed once; if no worker here runs it, it goes
 * back after the give-back's grace (returnUnserved), and is left from then on.
 *
 * so each pooled task goes to exactly one master; concurrent claims skip
 * each other's rows instead of waiting. What a master claims becomes its
 * live task (store.adopt) and enters its queue; its workers run it.
 * Rounds run on a NOTIFY of a new pooled task, when a final frees a slot,
 * and every `pollMs` as a safety net; one at a time.
 */
import type pg from 'pg';
import type { Logger } from '../../common/logger.js';
import { FINAL_EVENT_TYPES } from '../core/task-events.js';
import type { TaskRecord } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import type { AssignmentSink } from '../core/task-dispatch.js';
import type { Requirement } from '../../common/task-kinds.js';
import type { WorkerRecord } from '../scheduling/worker-registry.js';
import { featuresColumn } from './postgres-schema.js';
import { FINAL_CHANNEL, POOL_CHANNEL } from './postgres-fence.js';
import { pgClientConfig } from './postgres-writer.js';
import type { PostgresTaskStore } from './postgres-task-store.js';
import { ROW, type Row } from './sqlite-rows.js';
import pgModule from 'pg';

/**
 * The locking pick is an uncorrelated `ARRAY(SELECT …)`, which PostgreSQL runs
 * once (an InitPlan). Written as `WHERE id IN (SELECT … LIMIT n FOR UPDATE
 * SKIP LOCKED)`, the planner may run the subquery again per row it joins
 * (a semi-join rescan), and each run skips what the previous one locked: one
 * claim of n = 4 took 155 and 241 tasks in the three-master test, which then
 * queued on one master while the others idled. $5..$7 are the kind, model
 * ('' for none) and features column ('' for none, postgres-schema.ts step 4)
 * of each requirement to leave (no NULLs on either side, so NOT IN is exact).
 */
export const CLAIM_SQL = `UPDATE tasks SET owner = $1, owner_epoch = $2
  WHERE id = ANY(ARRAY(SELECT id FROM tasks WHERE owner IS NULL AND finished_at IS NULL AND kind = ANY($3::text[])
                         AND (kind, coalesce(model, ''), coalesce(features, '')) NOT IN (SELECT * FROM unnest($5::text[], $6::text[], $7::text[]))
                       ORDER BY priority DESC, created_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED))
    AND owner IS NULL AND finished_at IS NULL
  RETURNING ${ROW}`;

export interface TaskClaimerOptions {
  url: string;
  pool: pg.Pool;
  owner: string;
  epoch: number;
  store: PostgresTaskStore;
  tasks: TaskService;
  sink: AssignmentSink;
  log: Logger;
  /** Safety-net poll (default 200 ms). */
  pollMs?: number;
  /** Finals another master announced (ids). */
  onFinals?: (ids: string[]) => void;
  /**
   * Blobs are shared (PostgreSQL's blobs room): a task with a blob input
   * (an image) is pooled like any other, since every master serves its
   * FetchBlob and PutBlob. Without it such a task stays with its master.
   */
  sharedBlobs?: boolean;
  /**
   * How long queued tasks may wait here with no worker of this master that
   * runs them (kind, model, features) before they go back to the pool
   * (default 1000 ms).
   */
  returnAfterMs?: number;
}

/** The kind part of a requirement key (kind, or kind\0model, features after \1). */
const kindOfKey = (key: string) => key.split(/[\u0000\u0001]/, 1)[0]!;

/** Requirements met (queue key → requirement) kept at most; past it the map starts again (they are met again as tasks come). */
const MAX_KNOWN = 4096;

/** The requirements a claim leaves, as the claim's three parameter arrays. */
interface Leave {
  kinds: string[];
  models: string[];
  features: string[];
}

/**
 * Gives back tasks this master queued but cannot start: only rows still
 * queued, unfinished and held by this incarnation go back (a task it started
 * or finished meanwhile stays).
 */
const RETURN_SQL = `UPDATE tasks SET owner = NULL, owner_epoch = NULL
  WHERE id = ANY($1::text[]) AND owner = $2 AND owner_epoch = $3 AND finished_at IS NULL AND status = 'queued'
  RETURNING id`;


/** A task that needs this master's memory (secrets) or disk (blobs, unless they are shared) is never pooled. */
function mustStayLocal(t: TaskRecord, sharedBlobs: boolean): boolean {
  if (t.secrets !== null) return true;
  const input = t.input as { blob?: unknown } | null;
  return !sharedBlobs && input !== null && typeof input === 'object' && !Array.isArray(input) && input.blob !== undefined;
}

export class TaskClaimer {
  private running = false;
  private again = false;
  private stopped = false;
  private listener: pg.Client | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly offFinal: () => void;
  readonly stats = { rounds: 0, claimed: 0, kept: 0, pooled: 0, failures: 0, returned: 0 };
  private returning = false;
  private lastReturnMs = 0;
  /** Queued requirements (queue keys) no worker of this master runs, since when (performance.now()). */
  private readonly unserved = new Map<string, number>();
  /** Requirements this master has met (its submits, its claims), by queue key. */
  private readonly known = new Map<string, Requirement>();

  constructor(private readonly o: TaskClaimerOptions) {
    this.timer = setInterval(() => {
      this.trigger();
      this.returnUnserved();
    }, o.pollMs ?? 200);
    this.timer.unref();
    this.offFinal = o.tasks.events.on(FINAL_EVENT_TYPES, () => this.trigger());
    void this.listen();
  }

  /**
   * At admission: whether this master keeps a new task (a free slot of its
   * workers that run it, beyond what it has queued) or leaves it to the pool.
   */
  keep(task: TaskRecord): boolean {
    this.meet(task);
    if (mustStayLocal(task, this.o.sharedBlobs ?? false)) return true;
    const { registry, capacity, queue } = this.o.tasks;
    let free = 0;
    for (const w of registry.schedulable()) {
      if (w.suspect || !registry.supports(w, task.requirement)) continue;
      free += capacity.free(w);
    }
    // A watched task (chat session, streamed call) is pooled like any other: the chunk relay
    // (master/cluster-relay/) brings its chunks and answer to the master its client is on.
    const keep = free - queue.depth(task.key) > 0;
    if (keep) this.stats.kept++;
    else this.stats.pooled++;
    return keep;
  }

  /** Remembers a task's requirement (by its queue key). */
  private meet(t: Pick<TaskRecord, 'key' | 'requirement'>): void {
    if (this.known.has(t.key)) return;
    if (this.known.size >= MAX_KNOWN) this.known.clear();
    this.known.set(t.key, t.requirement);
  }

  /**
   * The kinds this master's free workers serve, the requirements met of those
   * kinds that none of them runs (left in the pool), and how many tasks to
   * claim: the free slots less what it has queued (one claim over all those
   * kinds, oldest of the highest priority first; a task whose workers here
   * are busy may wait here until one frees).
   */
  private wants(): { kinds: string[]; n: number; leave: Leave } | undefined {
    const { registry, capacity, queue } = this.o.tasks;
    const free = new Map<string, number>();
    const idle: WorkerRecord[] = [];
    let total = 0;
    for (const w of registry.schedulable()) {
      if (w.suspect) continue;
      const f = capacity.free(w);
      if (f <= 0) continue;
      total += f;
      idle.push(w);
      for (const k of w.kinds) free.set(k, (free.get(k) ?? 0) + f);
    }
    if (total === 0) return undefined;
    for (const [key, n] of queue.depthByKey()) {
      const k = kindOfKey(key);
      total -= n;
      if (free.has(k)) free.set(k, free.get(k)! - n);
    }
    const kinds = [...free].filter(([, n]) => n > 0).map(([k]) => k);
    if (total <= 0 || kinds.length === 0) return undefined;
    // O(requirements met × free workers), and only those of a kind claimed: a handful each.
    const leave: Leave = { kinds: [], models: [], features: [] };
    for (const req of this.known.values()) {
      if ((free.get(req.kind) ?? 0) <= 0 || idle.some((w) => registry.supports(w, req))) continue;
      leave.kinds.push(req.kind);
      leave.models.push(req.model ?? '');
      leave.features.push(featuresColumn(req) ?? '');
    }
    return { kinds, n: total, leave };
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wants = this.wants();
    if (!wants) return;
    this.running = true;
    void this.round(wants).finally(() => {
      this.running = false;
      if (this.again) {
        this.again = false;
        setImmediate(() => this.trigger());
      }
    });
  }

  private async round(wants: { kinds: string[]; n: number; leave: Leave }): Promise<void> {
    const { pool, owner, epoch, store, tasks } = this.o;
    this.stats.rounds++;
    let rows: Row[];
    try {
      rows = (await pool.query<Row>(CLAIM_SQL, [owner, epoch, wants.kinds, wants.n, wants.leave.kinds, wants.leave.models, wants.leave.features])).rows;
    } catch (err) {
      this.stats.failures++;
      this.o.log.warn({ err: (err as Error).message }, 'claiming pooled tasks failed (retried on the next round)');
      return;
    }
    if (this.stopped) return;
    const adopted = store.adopt(rows);
    this.stats.claimed += adopted.length;
    for (const t of adopted) this.admit(t);
    if (rows.length >= wants.n) this.again = true; // the pool may hold more
    if (tasks.queue.size > 0) tasks.kick();
  }

  /**
   * Queued tasks that none of this master's workers runs any more (kind,
   * model or features: its workers moved to another master's share, went
   * away, are suspect, or those left lack a feature the tasks need) for
   * `returnAfterMs` go back to the shared pool, where a master with a worker
   * for them claims them. (Before, they waited here until such a worker came
   * back or this master stopped; before that, per kind only: a task whose
   * kind a worker here served without its feature waited for good.) Tasks
   * that must stay local (secrets, a blob input) stay. At most one return in
   * flight, one per `returnAfterMs`.
   */
  returnUnserved(): void {
    if (this.stopped || this.returning) return;
    const { registry, queue } = this.o.tasks;
    if (queue.size === 0) {
      this.unserved.clear();
      return;
    }
    const now = performance.now();
    const every = this.o.returnAfterMs ?? 1000;
    if (now - this.lastReturnMs < Math.min(every, 250)) return;
    this.lastReturnMs = now;
    const workers = registry.schedulable().filter((w) => !w.suspect);
    // The queue's keys first (one entry per requirement): the tasks are walked only once some
    // unserved requirement has waited long enough, not on every tick.
    const seen = new Set<string>();
    const due = new Set<string>();
    for (const key of queue.depthByKey().keys()) {
      const req = this.known.get(key) ?? this.requirementQueued(key);
      if (req === undefined || workers.some((w) => registry.supports(w, req))) continue;
      seen.add(key);
      const since = this.unserved.get(key) ?? now;
      this.unserved.set(key, since);
      if (now - since >= every) due.add(key);
    }
    for (const key of this.unserved.keys()) if (!seen.has(key)) this.unserved.delete(key);
    if (due.size === 0) return;
    const give: TaskRecord[] = [];
    for (const t of queue.values()) if (due.has(t.key) && !mustStayLocal(t, this.o.sharedBlobs ?? false) && !t.cancelRequested) give.push(t);
    if (give.length === 0) return;
    this.returning = true;
    void this.giveBack(give).finally(() => {
      this.returning = false;
    });
  }

  /** The requirement of a queued key not met yet (a task restored at start): from one of its tasks. */
  private requirementQueued(key: string): Requirement | undefined {
    for (const t of this.o.tasks.queue.values()) {
      if (t.key !== key) continue;
      this.meet(t);
      return t.requirement;
    }
    return undefined;
  }

  private async giveBack(give: TaskRecord[]): Promise<void> {
    const { pool, owner, epoch, store, tasks } = this.o;
    // Out of the queue first, so nothing starts them while their rows change hands.
    const taken = give.filter((t) => tasks.queue.remove(t.id));
    if (taken.length === 0) return;
    let returned = new Set<string>();
    const ids = taken.map((t) => t.id);
    try {
      await store.commit(); // their rows are written as this master holds them
      if (this.stopped) throw new Error('stopped');
      store.returning(ids); // a claim of ours that sees them pooled before disown below takes them back
      const r = await pool.query<{ id: string }>(RETURN_SQL, [ids, owner, epoch]);
      returned = new Set(r.rows.map((x) => x.id));
      if (returned.size > 0) await pool.query(`SELECT pg_notify('${POOL_CHANNEL}', '')`);
    } catch (err) {
      if (!this.stopped) this.o.log.warn({ err: (err as Error).message, tasks: taken.length }, 'returning queued tasks to the pool failed: they stay here');
    }
    store.notReturning(ids.filter((id) => !returned.has(id)));
    const gone = new Set(store.disown([...returned]).map((t) => t.id));
    for (const t of taken) {
      if (gone.has(t.id)) {
        tasks.deadlines.clear(t.id);
        tasks.budget.release(t.id);
        continue;
      }
      // Not returned (it changed meanwhile, or the database refused): it stays queued here.
      if (t.status === 'queued' && store.get(t.id) === t && !tasks.queue.has(t.id)) tasks.queue.push(t);
    }
    if (gone.size > 0) {
      this.stats.returned += gone.size;
      this.o.log.info({ tasks: gone.size }, 'queued tasks no worker of this master runs went back to the shared pool');
    }
    if (tasks.queue.size > 0) tasks.kick();
  }

  /** A claimed task enters this master's queue (an old attempt of a lost master is told to stop). */
  private admit(t: TaskRecord): void {
    const { tasks, sink } = this.o;
    this.meet(t);
    const now = tasks.clock.now();
    if (t.workerId && t.attempt > 0) {
      sink.publishControl(t.workerId, { action: 'CONTROL_ACTION_CANCEL', task_id: t.id, attempt: t.attempt, reason: 'its master was lost; the task runs again elsewhere' });
    }
    t.workerId = null;
    t.assignedAtMs = null;
    if (t.history.at(-1)?.status !== 'queued') t.history.push({ status: 'queued', atMs: now, reason: 'its master was lost: re-queued' });
    if (t.cancelRequested) {
      tasks.finish(t, 'cancelled', { error: { code: 'CANCELLED', message: 'cancelled by user' } });
      return;
    }
    t.stream ??= t.sessionId !== null;
    tasks.enqueue(t);
  }

  /** LISTEN for new pooled tasks on a connection of its own (reconnects after a loss). */
  private async listen(): Promise<void> {
    while (!this.stopped) {
      const client = new pgModule.Client({ ...pgClientConfig(this.o.url), application_name: 'taskwire-claims' });
      const lost = new Promise<void>((resolve) => {
        client.on('error', () => resolve());
        client.on('end', () => resolve());
      });
      try {
        await client.connect();
        client.on('notification', (m) => {
          if (m.channel === POOL_CHANNEL) this.trigger();
          else if (m.channel === FINAL_CHANNEL && m.payload) this.o.onFinals?.(m.payload.split(','));
        });
        await client.query(`LISTEN ${POOL_CHANNEL}`);
        if (this.o.onFinals) await client.query(`LISTEN ${FINAL_CHANNEL}`);
        this.listener = client;
        this.trigger();
        await lost;
      } catch {
        // PostgreSQL unreachable: the poll still runs; try again shortly.
      }
      this.listener = undefined;
      void client.end().catch(() => undefined);
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.offFinal();
    await this.listener?.end().catch(() => undefined);
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }
}
