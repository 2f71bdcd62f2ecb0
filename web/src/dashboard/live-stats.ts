/**
 * What the overview charts draw, computed in the page from the event stream:
 * per-second counts of submitted, succeeded and failed tasks over the last
 * 15 minutes, and the queue-wait and run-time samples of finished tasks for
 * percentiles. Pure (no DOM): the unit tests drive it with made-up events.
 */
export const WINDOW_S = 15 * 60;
/** Samples kept for percentiles (the newest). */
export const MAX_SAMPLES = 5000;
/** The event types `LiveStats.add` counts (the others it ignores). */
export const COUNTED_TYPES: readonly string[] = ['task.queued', 'task.succeeded', 'task.failed', 'task.cancelled', 'task.expired'];

/**
 * The event stream a page follows: the counted types plus the page's own
 * (a server-side filter), or every type when the page does not say.
 */
export function eventsPath(pageTypes: readonly string[] | undefined): string {
  if (pageTypes === undefined) return '/api/v1/events';
  const types = [...new Set([...COUNTED_TYPES, ...pageTypes])];
  return `/api/v1/events?type=${types.join(',')}`;
}

export interface StreamEvent {
  type: string;
  ts: number;
  task_id?: string;
  kind?: string;
  worker_id?: string;
  queue_wait_ms?: number | null;
  run_ms?: number | null;
  error?: { code: string; message: string } | null;
}

interface Second {
  t: number;
  submitted: number;
  succeeded: number;
  failed: number;
}

interface Sample {
  ts: number;
  queueWaitMs: number | null;
  runMs: number | null;
}

export interface Series {
  /** Bucket start times, seconds since the epoch (uPlot's x axis). */
  x: number[];
  submitted: number[];
  succeeded: number[];
  failed: number[];
}

export class LiveStats {
  private readonly seconds = new Map<number, Second>();
  private samples: Sample[] = [];
  /** Ids of events already counted (a resumed stream never repeats one, but a backfill may overlap). */
  private lastId = 0;
  totals = { submitted: 0, succeeded: 0, failed: 0, cancelled: 0, expired: 0 };

  /** Counts one event; `id` is its outbox id (events at or below the last one are ignored). */
  add(e: StreamEvent, id?: number): void {
    if (id !== undefined) {
      if (id <= this.lastId) return;
      this.lastId = id;
    }
    const t = Math.floor(e.ts / 1000);
    const s = this.seconds.get(t) ?? { t, submitted: 0, succeeded: 0, failed: 0 };
    if (e.type === 'task.queued') {
      // Emitted once per task, when it is admitted (a re-attempt is task.retried).
      s.submitted++;
      this.totals.submitted++;
    } else if (e.type === 'task.succeeded') {
      s.succeeded++;
      this.totals.succeeded++;
    } else if (e.type === 'task.failed' || e.type === 'task.expired') {
      s.failed++;
      if (e.type === 'task.failed') this.totals.failed++;
      else this.totals.expired++;
    } else if (e.type === 'task.cancelled') {
      this.totals.cancelled++;
    } else {
      return;
    }
    this.seconds.set(t, s);
    if (e.type !== 'task.queued') {
      this.samples.push({ ts: e.ts, queueWaitMs: e.queue_wait_ms ?? null, runMs: e.run_ms ?? null });
      if (this.samples.length > MAX_SAMPLES) this.samples = this.samples.slice(-MAX_SAMPLES);
    }
  }

  /** Drops what is older than the window. */
  prune(nowMs: number): void {
    const oldest = Math.floor(nowMs / 1000) - WINDOW_S;
    for (const t of this.seconds.keys()) if (t < oldest) this.seconds.delete(t);
    const cut = nowMs - WINDOW_S * 1000;
    if (this.samples.length && this.samples[0]!.ts < cut) this.samples = this.samples.filter((s) => s.ts >= cut);
  }

  /**
   * Rates per second over the last `rangeS` seconds in `points` buckets,
   * ending at `nowMs` (empty buckets are 0, so the chart shows quiet times).
   */
  series(nowMs: number, rangeS: number, points = 60): Series {
    const width = Math.max(1, Math.round(rangeS / points));
    const end = Math.floor(nowMs / 1000);
    const start = end - width * points + 1;
    const out: Series = { x: [], submitted: [], succeeded: [], failed: [] };
    for (let b = 0; b < points; b++) {
      const from = start + b * width;
      let sub = 0;
      let ok = 0;
      let bad = 0;
      for (let t = from; t < from + width; t++) {
        const s = this.seconds.get(t);
        if (!s) continue;
        sub += s.submitted;
        ok += s.succeeded;
        bad += s.failed;
      }
      out.x.push(from);
      out.submitted.push(sub / width);
      out.succeeded.push(ok / width);
      out.failed.push(bad / width);
    }
    return out;
  }

  /** Percentiles (0..100) of queue wait and run time of tasks finished in the last `rangeS` seconds. */
  percentiles(nowMs: number, rangeS: number, ps: readonly number[]): { count: number; queueWait: (number | null)[]; run: (number | null)[] } {
    const cut = nowMs - rangeS * 1000;
    const recent = this.samples.filter((s) => s.ts >= cut);
    const waits = recent.map((s) => s.queueWaitMs).filter((v): v is number => typeof v === 'number');
    const runs = recent.map((s) => s.runMs).filter((v): v is number => typeof v === 'number');
    return { count: recent.length, queueWait: ps.map((p) => percentile(waits, p)), run: ps.map((p) => percentile(runs, p)) };
  }
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
