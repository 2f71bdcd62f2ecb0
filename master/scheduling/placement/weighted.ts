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
  /** Scores and weights by position in `of` (the registry hands out a new array when membership changes). */
  private of: readonly PlacementCandidate[] | undefined;
  private score = new Float64Array(0);
  private weight = new Float64Array(0);
  constructor(private readonly config: WeightedConfig = { label: 'weight' }) {}

  private sync(candidates: readonly PlacementCandidate[]): void {
    if (this.of === candidates) return;
    const old = new Map<string, number>();
    this.of?.forEach((c, i) => old.set(c.id, this.score[i]!));
    this.score = Float64Array.from(candidates, (c) => old.get(c.id) ?? 0);
    this.weight = Float64Array.from(candidates, (c) => labelWeight(c, this.config.label));
    this.of = candidates;
  }

  pick<C extends PlacementCandidate>({ candidates, eligible }: PlacementContext<C>): C | undefined {
    this.sync(candidates);
    let best = -1;
    let bestScore = -Infinity;
    let total = 0;
    for (let i = 0; i < candidates.length; i++) {
      if (!eligible(candidates[i]!)) continue;
      const w = this.weight[i]!;
      total += w;
      const s = (this.score[i]! += w);
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    }
    if (best < 0) return undefined;
    this.score[best]! -= total;
    return candidates[best];
  }
}
