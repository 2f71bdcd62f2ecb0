/**
 * `least-load`: the eligible worker whose host reports the lowest load in
 * its status (`load`: the busiest of cpu, memory and gpu, fractions of 1),
 * plus a share of its slots in use so that a burst between two status
 * reports spreads. A worker that reports no load is scored by its
 * in-flight share alone (the least-connections fallback the design asks
 * for); ties at random.
 */
import { z } from 'zod';
import { LeastConnections } from './least-connections.js';
import type { PlacementCandidate } from './placement-strategy.js';

export const leastLoadConfig = z.object({
  /** Weight of the reported host load against the in-flight share (default 1). */
  reportedWeight: z.number().min(0).max(100).default(1),
}).strict();
export type LeastLoadConfig = z.infer<typeof leastLoadConfig>;

export function reportedLoad(w: PlacementCandidate): number | undefined {
  const l = w.status.load;
  if (!l) return undefined;
  const v = Math.max(l.cpu || 0, l.memory || 0, l.gpu || 0);
  return Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : undefined;
}

export class LeastLoad extends LeastConnections {
  override readonly name = 'least-load';
  constructor(private readonly config: LeastLoadConfig = { reportedWeight: 1 }, random?: () => number) {
    super(random);
  }

  protected override score(w: PlacementCandidate): number {
    const share = w.inFlight.size / Math.max(w.capacity, 1);
    const reported = reportedLoad(w);
    return reported === undefined ? share : share + this.config.reportedWeight * reported;
  }
}
