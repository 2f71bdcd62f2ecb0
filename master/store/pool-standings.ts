/**
 * Where a pooled task stands (multi-master, docs/MULTI_MASTER.md): a task
 * the master that took it handed to the shared pool (it had no free slot
 * for its kind) is in no master's queue, so `TaskService.standing` knows
 * nothing of it; the browser that submitted it would see `queued` without a
 * position until some master claims it. Its position is how many pooled
 * tasks of the same kind and model a claim takes before it (the claim's
 * order: priority, then submit time, then seq; postgres-claims.ts).
 *
 * `one(id)` reads one task's standing at once (a REST read of the task).
 * `get(id)` is synchronous (the Socket.IO gateway's tick asks it): it
 * answers what the last refresh read and marks the id as wanted; a refresh
 * (one statement for every wanted id, at most MAX_IDS, each count cut at
 * MAX_AHEAD rows of the pool index) runs once per interval while any are
 * wanted, and keeps only what it was asked: an id not asked again, or not
 * found pooled (claimed, finished, cancelled), is forgotten. Counting reads the pool index (kind, priority,
 * created_at, seq) only up to the task itself.
 */
import type pg from 'pg';
import type { TaskRecord } from '../core/task-record.js';
import { deserialize, ROW, type Row } from './sqlite-rows.js';

/** Ids refreshed per round (the gateway asks at most 1000 a tick). */
const MAX_IDS = 1000;
/** A count stops here: a task this far back is reported as MAX_AHEAD ahead. */
export const MAX_AHEAD = 10_000;

const T_ROW = ROW.split(', ').map((c) => `p.${c}`).join(', ');

const STANDINGS_SQL = `SELECT ${T_ROW}, (SELECT count(*) FROM (SELECT 1 FROM tasks q
    WHERE q.owner IS NULL AND q.finished_at IS NULL AND q.kind = p.kind AND q.model IS NOT DISTINCT FROM p.model
      AND (q.priority > p.priority OR (q.priority = p.priority AND (q.created_at, q.seq) < (p.created_at, p.seq)))
    LIMIT ${MAX_AHEAD}) a)::int AS ahead
  FROM tasks p WHERE p.id = ANY($1::text[]) AND p.owner IS NULL AND p.finished_at IS NULL`;

export interface PoolStanding {
  position: number;
  /** No estimate across masters: which master's workers take it is not known yet. */
  etaMs: null;
  /** The task as its row reads (the master that pooled it may hold no record of it any more). */
  task: TaskRecord;
}

export class PoolStandings {
  private readonly known = new Map<string, PoolStanding>();
  private readonly wanted = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private running = false;
  readonly stats = { refreshes: 0, failures: 0 };

  constructor(
    private readonly pool: pg.Pool,
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  /** What the last refresh read of a pooled task; asks for it in the next one. */
  get(id: string): PoolStanding | undefined {
    if (this.wanted.size < MAX_IDS) this.wanted.add(id);
    return this.known.get(id);
  }

  /**
   * Where one pooled task stands now (GET /api/v1/tasks/:id asks): the same
   * count, read for it alone; undefined when it is not pooled (or PostgreSQL
   * cannot be read: the answer then has no position, as before).
   */
  async one(id: string): Promise<PoolStanding | undefined> {
    try {
      const r = (await this.pool.query<Row & { ahead: number }>(STANDINGS_SQL, [[id]])).rows[0];
      return r && { position: r.ahead, etaMs: null, task: deserialize(r) };
    } catch {
      return undefined;
    }
  }

  /** Reads the standings of the ids asked for since the last refresh (one statement). */
  async refresh(): Promise<void> {
    if (this.running || this.wanted.size === 0) return;
    this.running = true;
    const ids = [...this.wanted];
    this.wanted.clear();
    try {
      const { rows } = await this.pool.query<Row & { ahead: number }>(STANDINGS_SQL, [ids]);
      this.stats.refreshes++;
      // Only what was asked this round is kept (at most MAX_IDS): a task no longer asked for, or not pooled any more, is forgotten.
      this.known.clear();
      for (const r of rows) this.known.set(r.id, { position: r.ahead, etaMs: null, task: deserialize(r) });
    } catch {
      // PostgreSQL away: the standings stay as they were; the next tick asks again.
      this.stats.failures++;
    } finally {
      this.running = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.known.clear();
    this.wanted.clear();
  }
}
