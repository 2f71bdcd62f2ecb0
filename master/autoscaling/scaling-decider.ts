/**
 * The pure part of autoscaling: from a pool's load and its current worker
 * count, the count it should have now. No I/O, no timers: the autoscaler
 * calls `decide()` once per evaluation with the time.
 *
 *   raw     = ceil((queued + in flight) / target_per_worker)
 *   raw    += 1 when the oldest queued task is older than max_queue_age_ms
 *             and raw would not add a worker (a backlog that does not move)
 *   raw     = 0 only with min_workers 0 after scale_to_zero_after_ms idle;
 *             an idle pool otherwise keeps one worker (never 0 with work queued)
 *   clamp to [min_workers, max_workers]
 *   up:   the lowest recommendation of the last scale_up_window_ms, at most max_step_up more
 *   down: the highest recommendation of the last scale_down_window_ms, at most max_step_down fewer
 *
 * Why no flapping: a scale-up happens because a recommendation above the
 * new count is in the window, so no scale-down can follow within
 * scale_down_window_ms of it. Direction changes are at most one per window.
 */
import type { ScalingPolicy } from './scaling-policy.js';

export interface PoolLoadSample {
  /** Tasks of the pool waiting in the queue. */
  queued: number;
  /** Tasks of the pool running (or assigned) on its workers. */
  inFlight: number;
  /** Age of the oldest queued task of the pool, ms (0 when none). */
  oldestMs: number;
}

export interface ScalingDecision {
  /** The count the pool should have now. */
  desired: number;
  /** The recommendation before stabilisation (this evaluation alone). */
  raw: number;
  reason: string;
}

interface Recommendation {
  atMs: number;
  count: number;
}

/** One pool's decision state: its recent recommendations and when it was last busy. */
export class ScalingDecider {
  private history: Recommendation[] = [];
  private busyAtMs: number;

  constructor(
    public policy: ScalingPolicy,
    now: number,
  ) {
    this.busyAtMs = now;
  }

  decide(load: PoolLoadSample, current: number, now: number): ScalingDecision {
    const p = this.policy;
    const work = load.queued + load.inFlight;
    if (work > 0) this.busyAtMs = now;
    let raw = Math.ceil(work / p.target_per_worker);
    let why = `${work} queued or running / ${p.target_per_worker} per worker`;
    if (load.queued > 0 && p.max_queue_age_ms > 0 && load.oldestMs > p.max_queue_age_ms && raw <= current) {
      raw = current + 1;
      why = `oldest queued task waits ${load.oldestMs} ms > ${p.max_queue_age_ms} ms`;
    }
    if (raw === 0 && p.min_workers > 0) raw = p.min_workers;
    if (raw === 0 && current > 0 && now - this.busyAtMs < p.scale_to_zero_after_ms) {
      raw = 1; // idle, but not for long enough to go to zero
      why = `idle for ${now - this.busyAtMs} ms < scale_to_zero_after_ms ${p.scale_to_zero_after_ms}`;
    }
    raw = Math.min(p.max_workers, Math.max(p.min_workers, raw));
    this.remember(now, raw);

    if (current < p.min_workers) return { desired: p.min_workers, raw, reason: `below min_workers ${p.min_workers}` };
    if (current > p.max_workers) return { desired: p.max_workers, raw, reason: `above max_workers ${p.max_workers}` };
    if (raw > current) {
      // From zero with work waiting: at once, whatever the window says.
      const floor = current === 0 && work > 0 ? 1 : current;
      const up = Math.max(floor, Math.min(this.lowestSince(now - p.scale_up_window_ms), current + p.max_step_up));
      return { desired: up, raw, reason: up > current ? `scale up: ${why}` : `hold: scale-up window` };
    }
    if (raw < current) {
      const highest = this.highestSince(now - p.scale_down_window_ms);
      const down = Math.min(current, Math.max(highest, current - p.max_step_down));
      return { desired: down, raw, reason: down < current ? `scale down: ${why}` : `hold: scale-down window (highest recommendation ${highest})` };
    }
    return { desired: current, raw, reason: 'steady' };
  }

  private remember(atMs: number, count: number): void {
    this.history.push({ atMs, count });
    const keep = Math.max(this.policy.scale_down_window_ms, this.policy.scale_up_window_ms);
    let drop = 0;
    while (drop < this.history.length - 1 && this.history[drop]!.atMs < atMs - keep) drop++;
    if (drop > 0) this.history = this.history.slice(drop);
  }

  private highestSince(fromMs: number): number {
    let best = 0;
    for (const r of this.history) if (r.atMs >= fromMs && r.count > best) best = r.count;
    return best;
  }

  private lowestSince(fromMs: number): number {
    let best = Infinity;
    for (const r of this.history) if (r.atMs >= fromMs && r.count < best) best = r.count;
    return best === Infinity ? 0 : best;
  }
}
