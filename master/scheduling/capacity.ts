/**
 * The one owner of worker capacity (after Temporal's SlotSupplier): a task
 * takes a slot of its worker with `reserve` when it is assigned and gives it
 * back with `release(reason)` when its attempt ends. Nothing else adds to or
 * removes from a worker's in-flight set; placement strategies only read it.
 *
 * Release reasons:
 *   finished   the worker reported a final (succeeded / failed)
 *   cancelled  the worker confirmed a cancel, or did not within the grace period
 *   lost       the lease ran out (no heartbeat) or the worker went away
 *   timed_out  the attempt exceeded its run timeout
 *   drained    a draining worker went offline with the attempt still held
 */
import type { WorkerRecord } from './worker-registry.js';

export const RELEASE_REASONS = ['finished', 'cancelled', 'lost', 'timed_out', 'drained'] as const;
export type ReleaseReason = (typeof RELEASE_REASONS)[number];

/** The in-flight set of a worker, writable only here. */
const slots = (w: WorkerRecord) => w.inFlight as Set<string>;

export class Capacity {
  /** Releases so far, by reason. */
  readonly released: Record<ReleaseReason, number> = { finished: 0, cancelled: 0, lost: 0, timed_out: 0, drained: 0 };
  reserved = 0;
  private readonly watchers: ((worker: WorkerRecord) => void)[] = [];

  /** Calls `fn` after every change of a worker's in-flight set (the scheduler's load index); returns the unsubscribe. */
  watch(fn: (worker: WorkerRecord) => void): () => void {
    this.watchers.push(fn);
    return () => {
      const i = this.watchers.indexOf(fn);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  private changed(worker: WorkerRecord): void {
    for (const fn of this.watchers) fn(worker);
  }

  /** Free slots of a worker (never below 0). */
  free(worker: WorkerRecord): number {
    return Math.max(0, worker.capacity - worker.inFlight.size);
  }

  /** Takes one slot of `worker` for `taskId`; false when it has none free (or already holds it). */
  reserve(worker: WorkerRecord, taskId: string): boolean {
    const s = slots(worker);
    if (s.size >= worker.capacity || s.has(taskId)) return false;
    s.add(taskId);
    this.reserved++;
    this.changed(worker);
    return true;
  }

  /**
   * Counts an attempt the worker already runs (restored after a master
   * restart), whatever its free capacity: the worker holds it either way.
   */
  adopt(worker: WorkerRecord, taskId: string): void {
    slots(worker).add(taskId);
    this.changed(worker);
  }

  /** Gives back the slot `taskId` holds on `worker`; false when it held none. */
  release(worker: WorkerRecord | undefined, taskId: string, reason: ReleaseReason): boolean {
    if (!worker || !slots(worker).delete(taskId)) return false;
    this.released[reason]++;
    this.changed(worker);
    return true;
  }

  /** Gives back every slot of a worker (it went away); returns the task ids it held. */
  releaseAll(worker: WorkerRecord, reason: ReleaseReason): string[] {
    const s = slots(worker);
    const ids = [...s];
    s.clear();
    this.released[reason] += ids.length;
    if (ids.length > 0) this.changed(worker);
    return ids;
  }

  /** Slots in use across the given workers. */
  inUse(workers: Iterable<WorkerRecord>): number {
    let n = 0;
    for (const w of workers) n += w.inFlight.size;
    return n;
  }
}
