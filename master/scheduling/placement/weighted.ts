/**
 * `weighted`: smooth weighted round-robin (nginx's): each pick adds every
 * eligible worker's weight to its running score, the highest score wins and
 * gives back the sum. A worker of weight 3 next to one of weight 1 gets 3 of
 * every 4 tasks, interleaved (a a b a, not a a a b). The weight is the
 * worker's `weight` label (a positive number, default 1; bad values count 1).
 */
import { z } from 'zod';
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export const weightedConfig = z.object({
  /** Label that holds the weight (default "weight"). */
  label: z.string().min(1).max(64).default('weight'),
}).strict();
export type WeightedConfig = z.infer<typeof weightedConfig>;

const MAX_WEIGHT = 1000;

export function labelWeight(w: PlacementCandidate, label: string): number {
  const raw = w.status.labels?.[label];
  const v = raw === undefined ? 1 : Number(raw);
  return Number.isFinite(v) && v > 0 ? Math.min(v, MAX_WEIGHT) : 1;
}

export class Weighted implements PlacementStrategy {
  readonly name = 'weighted';
  private readonly current = new Map<string, number>();
  constructor(private readonly config: WeightedConfig = { label: 'weight' }) {}

  pick<C extends PlacementCandidate>({ candidates, eligible }: PlacementContext<C>): C | undefined {
    let best: C | undefined;
    let bestScore = -Infinity;
    let total = 0;
    for (const w of candidates) {
      if (!eligible(w)) continue;
      const weight = labelWeight(w, this.config.label);
      total += weight;
      const score = (this.current.get(w.id) ?? 0) + weight;
      this.current.set(w.id, score);
      if (score > bestScore) {
        best = w;
        bestScore = score;
      }
    }
    if (best) this.current.set(best.id, bestScore - total);
    // Forget workers that left (bounded by the live set).
    if (this.current.size > candidates.length * 2 + 16) {
      const live = new Set(candidates.map((c) => c.id));
      for (const id of this.current.keys()) if (!live.has(id)) this.current.delete(id);
    }
    return best;
  }
}
