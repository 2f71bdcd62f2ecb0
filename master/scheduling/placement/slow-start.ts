/**
 * Slow start (after Envoy's and HAProxy's): a worker that just came online
 * gets a share of new work that ramps linearly from `minShare` to all of it
 * over `windowMs`, so a fresh process (cold caches, a model still loading,
 * a JIT not warmed up) is not handed a burst of the whole backlog at once.
 *
 * Applied as a filter before any strategy, in two parts at ramp f (0..1):
 *   - a hard cap: at most max(1, floor(capacity × f)) tasks in flight;
 *   - a soft gate: each pick considers it with probability f.
 * When the soft gate leaves no one eligible, the pick is made again with
 * the hard cap only, so a lone new worker is never starved (slow start
 * delays, it never refuses work).
 */
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export interface SlowStartOptions {
  /** Ramp length, ms (0: off). */
  windowMs: number;
  /** Share at join (0..1, default 0.1). */
  minShare?: number;
  random?: () => number;
}

export class SlowStart {
  windowMs: number;
  private readonly minShare: number;
  private readonly random: () => number;

  constructor(options: SlowStartOptions) {
    this.windowMs = options.windowMs;
    this.minShare = Math.min(1, Math.max(0, options.minShare ?? 0.1));
    this.random = options.random ?? Math.random;
  }

  get active(): boolean {
    return this.windowMs > 0;
  }

  /** The ramp of a candidate at `now`: 1 once it has been online for the window (or its join time is unknown). */
  ramp(c: PlacementCandidate, now: number): number {
    const at = c.connectedAtMs;
    if (!this.active || at === null || at === undefined) return 1;
    const age = now - at;
    if (age >= this.windowMs) return 1;
    return this.minShare + (1 - this.minShare) * Math.max(0, age / this.windowMs);
  }

  /** The slots a candidate may fill at `now`. */
  allowedSlots(c: PlacementCandidate, now: number): number {
    const f = this.ramp(c, now);
    return f >= 1 ? c.capacity : Math.max(1, Math.floor(c.capacity * f));
  }

  /** The strategy's pick with the new workers held back. */
  pick<C extends PlacementCandidate>(strategy: PlacementStrategy, ctx: PlacementContext<C>, now: number): C | undefined {
    const capped = (c: C) => {
      const f = this.ramp(c, now);
      return f >= 1 || c.inFlight.size < this.allowedSlots(c, now);
    };
    const gated: PlacementContext<C> = {
      candidates: ctx.candidates,
      requirement: ctx.requirement,
      key: ctx.key,
      eligible: (c) => {
        if (!ctx.eligible(c)) return false;
        const f = this.ramp(c, now);
        return f >= 1 || (c.inFlight.size < this.allowedSlots(c, now) && this.random() < f);
      },
    };
    const first = strategy.pick(gated);
    if (first) return first;
    return strategy.pick({ ...gated, eligible: (c) => ctx.eligible(c) && capped(c) });
  }
}
