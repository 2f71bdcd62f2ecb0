/**
 * Per-worker task statistics for operators (GET /api/v1/workers): tasks
 * done / failed / cancelled / expired and the mean and p95 run time over the
 * last `window` finished attempts. It only LISTENS to the task event stream
 * (final events carry `worker_id` and `run_ms`); nothing in the core calls it.
 * Memory only: the counts start at zero with each master.
 */
import { FINAL_EVENT_TYPES, type TaskEvents } from '../core/task-events.js';

export interface WorkerStatsOptions {
  /** Run times kept per worker for mean and p95 (default 1000). */
  window?: number;
}

export const WORKER_STATS_DEFAULTS: Required<WorkerStatsOptions> = { window: 1000 };

export interface WorkerTaskStats {
  tasks_succeeded: number;
  tasks_failed: number;
  tasks_cancelled: number;
  tasks_expired: number;
  /** Mean run time (ms) of the recent finished attempts that started; null before the first. */
  run_ms_mean: number | null;
  run_ms_p95: number | null;
}

interface Entry {
  succeeded: number;
  failed: number;
  cancelled: number;
  expired: number;
  runs: number[];
  next: number;
}

export class WorkerStats {
  private readonly byWorker = new Map<string, Entry>();
  private readonly window: number;
  private readonly off: () => void;

  constructor(events: TaskEvents, options: WorkerStatsOptions = {}) {
    this.window = Math.max(1, options.window ?? WORKER_STATS_DEFAULTS.window);
    this.off = events.on(FINAL_EVENT_TYPES, (ev) => {
      if (!ev.worker_id) return;
      let e = this.byWorker.get(ev.worker_id);
      if (!e) this.byWorker.set(ev.worker_id, (e = { succeeded: 0, failed: 0, cancelled: 0, expired: 0, runs: [], next: 0 }));
      if (ev.type === 'task.succeeded') e.succeeded++;
      else if (ev.type === 'task.failed') e.failed++;
      else if (ev.type === 'task.cancelled') e.cancelled++;
      else e.expired++;
      if (ev.run_ms !== null && ev.run_ms >= 0) {
        if (e.runs.length < this.window) e.runs.push(ev.run_ms);
        else e.runs[e.next] = ev.run_ms;
        e.next = (e.next + 1) % this.window;
      }
    });
  }

  of(workerId: string): WorkerTaskStats {
    const e = this.byWorker.get(workerId);
    if (!e) return { tasks_succeeded: 0, tasks_failed: 0, tasks_cancelled: 0, tasks_expired: 0, run_ms_mean: null, run_ms_p95: null };
    let mean: number | null = null;
    let p95: number | null = null;
    if (e.runs.length > 0) {
      const sorted = [...e.runs].sort((a, b) => a - b);
      mean = Math.round(sorted.reduce((s, x) => s + x, 0) / sorted.length);
      p95 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
    }
    return { tasks_succeeded: e.succeeded, tasks_failed: e.failed, tasks_cancelled: e.cancelled, tasks_expired: e.expired, run_ms_mean: mean, run_ms_p95: p95 };
  }

  stop(): void {
    this.off();
  }
}
