/**
 * Matches queued tasks to idle workers: a task goes only to an online worker
 * with free capacity that supports its requirement; the highest-priority,
 * oldest task goes first; among eligible workers the least loaded wins
 * (in-flight / capacity), ties broken round-robin.
 */
import type { Requirement } from '../../common/task-kinds.js';
import type { QueuedTask, TaskQueue } from '../core/task-queue.js';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.js';

export interface SchedulableTask extends QueuedTask {
  readonly requirement: Requirement;
}

export interface Match<T> {
  task: T;
  worker: WorkerRecord;
}

export class Scheduler<T extends SchedulableTask> {
  private rr = 0;
  private readonly queue: TaskQueue<T>;
  private readonly registry: WorkerRegistry;

  constructor(queue: TaskQueue<T>, registry: WorkerRegistry) {
    this.queue = queue;
    this.registry = registry;
  }

  /** Least-loaded eligible worker with free capacity, round-robin on ties. */
  pickWorker(req: Requirement): WorkerRecord | undefined {
    const workers = this.registry.schedulable();
    const n = workers.length;
    let best: WorkerRecord | undefined;
    let bestLoad = Infinity;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const w = workers[i]!;
      if (w.inFlight.size >= w.capacity || w.suspect) continue;
      if (!this.registry.supports(w, req)) continue;
      const load = w.inFlight.size / w.capacity;
      if (load < bestLoad) {
        best = w;
        bestLoad = load;
        bestIndex = i;
      }
    }
    if (best) this.rr = (bestIndex + 1) % n;
    return best;
  }

  /**
   * Takes matches off the queue until no queued task has an idle capable
   * worker. Each match reserves the worker's capacity (inFlight) at once.
   */
  *matches(): Generator<Match<T>> {
    const blocked = new Set<string>();
    for (;;) {
      const head = this.queue.best(blocked);
      if (!head) return;
      const worker = this.pickWorker(head.requirement);
      if (!worker) {
        blocked.add(head.key);
        continue;
      }
      this.queue.take(head.key);
      worker.inFlight.add(head.id);
      yield { task: head, worker };
    }
  }
}
