/**
 * Multi-master: which of the PostgreSQL store's tasks go to the shared pool
 * and come back from it. A new task left to the pool is inserted with no
 * owner and handed off once its row commits; tasks this master gave back
 * (postgres-claims.ts `returnUnserved`) or claimed move between its live
 * tasks and the snapshots of other masters' tasks. Works on the store's own
 * maps and sets, which the store passes in.
 */
import type { TaskRecord } from '../core/task-record.js';
import type { ForeignTasks } from './foreign-tasks.js';
import { deserialize, type Row } from './sqlite-rows.js';

/** The store's state the pool bookkeeping reads and changes. */
export interface PoolHandOffState {
  live: Map<string, TaskRecord>;
  /** Tasks whose row is written (updates, not inserts). */
  written: Set<string>;
  /** Tasks with a pending write. */
  dirty: { has(id: string): boolean };
  foreign: ForeignTasks;
  idem: Map<string, string>;
  /** Pooled tasks whose row committed: this master no longer holds them. */
  onHandedOff: ((ids: string[]) => void) | undefined;
}

export class PoolHandOffs {
  /** New tasks left to the shared pool (inserted with no owner). */
  private readonly pooled = new Set<string>();
  /** Claimed tasks (submitted through some master); their finals are announced. */
  private readonly claimed = new Set<string>();
  /**
   * Tasks on their way to the pool (a pooled insert in flight, or a return to the
   * pool under way) that are still live here. A claim of one of them (this master's own claim can
   * come back before the write's commit is seen here) takes it back: it stays live and is admitted
   * again instead of being dropped when the hand-off completes.
   */
  private readonly toPool = new Set<string>();
  private readonly takenBack = new Set<string>();

  constructor(private readonly s: PoolHandOffState) {}

  /** A new task goes to the shared pool; called before its first flush. */
  pool(task: TaskRecord): void {
    this.pooled.add(task.id);
  }

  /** Whether the insert of `t` is a pooled one (no owner); it is then on its way to the pool. */
  insertPooled(t: TaskRecord): boolean {
    const pooled = this.pooled.delete(t.id) && t.status === 'queued';
    if (pooled) this.toPool.add(t.id);
    return pooled;
  }

  /** The final of task `id` is written: whether it was a claimed task's (then announced). */
  finalOfClaimed(id: string): boolean {
    return this.claimed.delete(id);
  }

  /** Tasks given back to the pool, after their rows were set to no owner (PostgresTaskStore.disown). */
  disown(ids: readonly string[]): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const id of ids) {
      this.toPool.delete(id);
      if (this.takenBack.delete(id)) continue; // claimed back meanwhile (adopt)
      const t = this.s.live.get(id);
      if (!t || t.status !== 'queued' || this.s.dirty.has(id)) continue;
      this.s.live.delete(id);
      this.claimed.delete(id);
      this.s.foreign.add(t);
      out.push(t);
    }
    return out;
  }

  /** These live tasks are being returned to the pool (before the UPDATE that returns them). */
  returning(ids: readonly string[]): void {
    for (const id of ids) this.toPool.add(id);
  }

  /** A return that did not happen (the UPDATE failed): they are just live tasks again. */
  notReturning(ids: readonly string[]): void {
    for (const id of ids) {
      this.toPool.delete(id);
      this.takenBack.delete(id);
    }
  }

  /** Rows this master claimed (postgres-claims.ts) become its live tasks. */
  adopt(rows: Row[]): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const r of rows) {
      const held = this.s.live.get(r.id);
      if (held) {
        if (this.toPool.has(r.id) && held.status === 'queued') {
          // Pooled by this master and claimed back by it before the hand-off completed here.
          this.takenBack.add(r.id);
          this.claimed.add(r.id);
          this.s.written.add(r.id);
          out.push(held);
        }
        continue;
      }
      const t = deserialize(r);
      this.s.foreign.delete(t.id);
      this.claimed.add(t.id);
      this.s.written.add(t.id);
      this.s.live.set(t.id, t);
      if (t.idempotencyKey) this.s.idem.set(t.idempotencyKey, t.id);
      out.push(t);
    }
    return out;
  }

  /** Pooled rows committed: the task is the pool's now (a claim brings it back as a live task of whichever master). */
  handOff(ids: string[]): void {
    const gone: string[] = [];
    for (const id of ids) {
      this.toPool.delete(id);
      if (this.takenBack.delete(id)) continue; // claimed back meanwhile: it is live here again
      gone.push(id);
      const t = this.s.live.get(id);
      if (t && t.status === 'queued' && !this.s.written.has(id)) {
        this.s.live.delete(id);
        this.s.foreign.add(t);
      }
    }
    this.s.onHandedOff?.(gone);
  }
}
