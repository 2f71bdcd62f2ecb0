/**
 * `least-connections`: the eligible worker with the fewest tasks in flight
 * (absolute count, not load), ties broken at random so that equal workers
 * share the traffic (a fixed tie order sends every burst to the first one:
 * LiteLLM's least-busy, litellm#37622).
 */
import { z } from 'zod';
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export const leastConnectionsConfig = z.object({}).strict();

export class LeastConnections implements PlacementStrategy {
  readonly name: string = 'least-connections';
  constructor(private readonly random: () => number = Math.random) {}

  pick<C extends PlacementCandidate>({ candidates, eligible }: PlacementContext<C>): C | undefined {
    let best: C | undefined;
    let bestN = Infinity;
    let ties = 0;
    for (const w of candidates) {
      if (!eligible(w)) continue;
      const n = this.score(w);
      if (n < bestN) {
        best = w;
        bestN = n;
        ties = 1;
      } else if (n === bestN && this.random() * ++ties < 1) {
        best = w; // reservoir sampling: each tied worker has a 1/ties chance
      }
    }
    return best;
  }

  /** What is minimised (in-flight count here; subclasses use other signals). */
  protected score(w: PlacementCandidate): number {
    return w.inFlight.size;
  }
}
