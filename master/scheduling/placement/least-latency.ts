/**
 * `least-latency`: peak-EWMA (Finagle, Linkerd; Envoy's LEAST_REQUEST with
 * active requests bias): each worker's cost is its decaying average run
 * time, which jumps up at once on a slow sample and decays with a time
 * constant, times (in flight + 1). Two random eligible workers are compared
 * (P2C) so that picking stays O(1) at 1,000 workers. A worker never
 * measured gets the median of those measured, so a new one is neither
 * flooded nor starved; no measurement at all falls back to in-flight share.
 * Every division is guarded (a zero or negative run time, a zero capacity).
 */
import { z } from 'zod';
import { drawTwo } from './p2c.js';
import type { PlacementCandidate, PlacementContext, PlacementSample, PlacementStrategy } from './placement-strategy.js';

export const leastLatencyConfig = z.object({
  /** Decay time constant of the average (default 10 s). */
  decayMs: z.number().int().min(10).max(3_600_000).default(10_000),
}).strict();
export type LeastLatencyConfig = z.infer<typeof leastLatencyConfig>;

interface Ewma {
  value: number;
  atMs: number;
}

export class LeastLatency implements PlacementStrategy {
  readonly name = 'least-latency';
  private readonly ewma = new Map<string, Ewma>();
  private medianCache: { atSize: number; atMs: number; value: number } | undefined;

  constructor(
    private readonly config: LeastLatencyConfig = { decayMs: 10_000 },
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  observe({ workerId, runMs, atMs }: PlacementSample): void {
    const x = Number.isFinite(runMs) && runMs > 0 ? runMs : 0.001;
    const e = this.ewma.get(workerId);
    if (!e) {
      this.ewma.set(workerId, { value: x, atMs });
      return;
    }
    if (x > e.value) e.value = x; // peak: react to a slow worker at once
    else {
      const w = Math.exp(-Math.max(atMs - e.atMs, 0) / this.config.decayMs);
      e.value = e.value * w + x * (1 - w);
    }
    e.atMs = atMs;
  }

  /** Current estimate of a worker's run time (decayed towards 0 while it is idle, so it gets tried again). */
  estimate(workerId: string): number | undefined {
    const e = this.ewma.get(workerId);
    if (!e) return undefined;
    const idle = Math.max(this.now() - e.atMs, 0);
    return e.value * Math.exp(-idle / (this.config.decayMs * 10));
  }

  private median(): number | undefined {
    if (this.ewma.size === 0) return undefined;
    const c = this.medianCache;
    const now = this.now();
    // Recomputed (O(n log n)) only when the measured set grew by an eighth or a second went by.
    if (c && this.ewma.size <= c.atSize + (c.atSize >> 3) && now - c.atMs < 1000) return c.value;
    const vs = [...this.ewma.values()].map((e) => e.value).sort((a, b) => a - b);
    const value = vs[vs.length >> 1]!;
    this.medianCache = { atSize: this.ewma.size, atMs: now, value };
    return value;
  }

  cost(w: PlacementCandidate): number {
    const est = this.estimate(w.id) ?? this.median();
    if (est === undefined) return w.inFlight.size / Math.max(w.capacity, 1);
    // Per slot: a worker with 8 slots and 4 in flight is less busy than one with 1 slot and 1.
    return (est * (w.inFlight.size + 1)) / Math.max(w.capacity, 1);
  }

  pick<C extends PlacementCandidate>({ candidates, eligible }: PlacementContext<C>): C | undefined {
    const [a, b] = drawTwo(candidates, eligible, this.random);
    if (!a || !b) return a;
    return this.cost(b) < this.cost(a) ? b : a;
  }
}
