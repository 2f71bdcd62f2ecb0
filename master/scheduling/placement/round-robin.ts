/**
 * `round-robin`: the next eligible worker after the last pick, whatever its
 * load (a worker with a free slot is as good as any other).
 */
import { z } from 'zod';
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export const roundRobinConfig = z.object({}).strict();
export type RoundRobinConfig = z.infer<typeof roundRobinConfig>;

export class RoundRobin implements PlacementStrategy {
  readonly name = 'round-robin';
  /** Id of the last pick: the rotation survives workers joining and leaving. */
  private last: string | undefined;

  pick<C extends PlacementCandidate>({ candidates, eligible }: PlacementContext<C>): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const lastIndex = this.last === undefined ? -1 : candidates.findIndex((c) => c.id === this.last);
    for (let k = 1; k <= n; k++) {
      const w = candidates[(lastIndex + k + n) % n]!;
      if (eligible(w)) {
        this.last = w.id;
        return w;
      }
    }
    return undefined;
  }
}
