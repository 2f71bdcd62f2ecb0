/**
 * `least-loaded` (the default): the eligible worker with the lowest
 * in-flight / capacity; ties go round-robin, starting after the last pick.
 * With the scheduler's load index (load-index.ts) the same choice costs
 * O(1) for equal workers instead of a scan of every worker per task.
 */
import { z } from 'zod';
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export const leastLoadedConfig = z.object({}).strict();
export type LeastLoadedConfig = z.infer<typeof leastLoadedConfig>;

export class LeastLoaded implements PlacementStrategy {
  readonly name = 'least-loaded';
  private rr = 0;

  pick<C extends PlacementCandidate>({ candidates, eligible, loads }: PlacementContext<C>): C | undefined {
    const n = candidates.length;
    if (loads) {
      loads.sync(candidates);
      const i = loads.first(this.rr, eligible);
      if (i < 0) return undefined;
      this.rr = (i + 1) % n;
      return candidates[i];
    }
    let best: C | undefined;
    let bestLoad = Infinity;
    let bestIndex = -1;
    for (let k = 0; k < n; k++) {
      const i = (this.rr + k) % n;
      const w = candidates[i]!;
      // Cheap tests first (a full worker is never eligible; one no less loaded cannot win), the predicate last.
      const used = w.inFlight.size;
      if (used >= w.capacity) continue;
      const load = used / w.capacity;
      if (load >= bestLoad || !eligible(w)) continue;
      best = w;
      bestLoad = load;
      bestIndex = i;
      if (load === 0) break; // nothing is less loaded than idle
    }
    if (best) this.rr = (bestIndex + 1) % n;
    return best;
  }
}
