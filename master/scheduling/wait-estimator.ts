/**
 * Queue-wait estimates per requirement key (kind [+ model]), fed only by the
 * task event stream and read from the worker registry:
 *
 *   run time   an EWMA of `run_ms` of the key's finished attempts (a prior
 *              until the first one finishes)
 *   slots      total capacity of the online workers that serve the key, and
 *              how many of those slots are free now
 *   first free the soonest a busy slot of those workers is expected to free:
 *              mean run time minus how long its attempt has been running
 *
 * The task at position p (p tasks run before it) starts in about
 *   0                                      when p < free slots
 *   firstFree + (p - free) / slots * mean  otherwise
 * and never when no worker serves the key (slots 0).
 *
 * TaskService asks through a narrow interface (QueueWaitEstimator in
 * core/task-admission.ts); GET /api/v1/tasks/:id shows it as `eta_ms`.
 */
import type { Requirement } from '../../common/task-kinds.js';
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';
import type { WorkerRegistry } from './worker-registry.js';

export interface WaitEstimatorOptions {
  /** Weight of the newest run time in the EWMA (0..1]. */
  alpha?: number;
  /** Run time assumed before a key has any finished attempt. */
  priorRunMs?: number;
}

export const WAIT_ESTIMATOR_DEFAULTS: Required<WaitEstimatorOptions> = { alpha: 0.3, priorRunMs: 1000 };

export function resolveWaitEstimatorOptions(o: WaitEstimatorOptions = {}): Required<WaitEstimatorOptions> {
  const r = { ...WAIT_ESTIMATOR_DEFAULTS, ...o };
  if (!(r.alpha > 0 && r.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${r.alpha}`);
  if (!(r.priorRunMs >= 0)) throw new RangeError(`priorRunMs must be >= 0, got ${r.priorRunMs}`);
  return r;
}

export interface WaitEstimate {
  /** Estimated ms from now until the task at this position starts (Infinity when no worker serves it). */
  waitMs: number;
  /** Capacity of the online workers serving the key (0: none). */
  slots: number;
  freeSlots: number;
  /** The EWMA run time used (the prior while `samples` is 0). */
  meanRunMs: number;
  samples: number;
}

interface RunStats {
  mean: number;
  samples: number;
}

interface Running {
  key: string;
  sinceMs: number;
}

export class WaitEstimator {
  private readonly opts: Required<WaitEstimatorOptions>;
  private readonly stats = new Map<string, RunStats>();
  /** Attempts assigned or running, by task id (from the event stream). */
  private readonly running = new Map<string, Running>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    events: TaskEvents,
    private readonly registry: WorkerRegistry,
    private readonly now: () => number,
    options?: WaitEstimatorOptions,
  ) {
    this.opts = resolveWaitEstimatorOptions(options);
    this.unsubscribe.push(
      events.on(['task.assigned', 'task.started'], (ev, task) => {
        // Started replaces assigned: the run time is measured from the start.
        this.running.set(ev.task_id, { key: task.key, sinceMs: ev.ts });
      }),
      events.on(FINAL_EVENT_TYPES, (ev, task) => {
        this.running.delete(ev.task_id);
        if (ev.type !== 'task.cancelled' && ev.type !== 'task.expired' && ev.run_ms !== null) this.observe(task.key, ev.run_ms);
      }),
      events.on('task.retried', (ev) => {
        this.running.delete(ev.task_id);
      }),
    );
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** Records one finished attempt's run time for a key. */
  observe(key: string, runMs: number): void {
    if (!Number.isFinite(runMs) || runMs < 0) return;
    const s = this.stats.get(key);
    if (!s) this.stats.set(key, { mean: runMs, samples: 1 });
    else {
      s.mean += this.opts.alpha * (runMs - s.mean);
      s.samples++;
    }
  }

  /** The EWMA run time of a key (the prior without samples). */
  meanRunMs(key: string): number {
    return this.stats.get(key)?.mean ?? this.opts.priorRunMs;
  }

  /** Estimated wait of the task of `requirement` (key `key`) that has `position` tasks before it. */
  estimate(requirement: Requirement, key: string, position: number): WaitEstimate {
    const now = this.now();
    const mean = this.meanRunMs(key);
    const samples = this.stats.get(key)?.samples ?? 0;
    let slots = 0;
    let free = 0;
    let firstFree = Infinity;
    for (const w of this.registry.schedulable()) {
      if (w.suspect || !this.registry.supports(w, requirement)) continue;
      slots += w.capacity;
      free += Math.max(0, w.capacity - w.inFlight.size);
      for (const id of w.inFlight) {
        const r = this.running.get(id);
        const m = r ? this.meanRunMs(r.key) : mean;
        const left = r ? Math.max(0, m - (now - r.sinceMs)) : m;
        if (left < firstFree) firstFree = left;
      }
    }
    if (slots === 0) return { waitMs: Infinity, slots, freeSlots: 0, meanRunMs: mean, samples };
    if (position < free) return { waitMs: 0, slots, freeSlots: free, meanRunMs: mean, samples };
    if (firstFree === Infinity) firstFree = 0;
    const waitMs = Math.round(firstFree + ((position - free) / slots) * mean);
    return { waitMs, slots, freeSlots: free, meanRunMs: mean, samples };
  }
}
