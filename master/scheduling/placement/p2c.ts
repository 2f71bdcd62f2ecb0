/**
 * `p2c`: power of two choices. Two eligible workers drawn at random, the
 * one with the lower in-flight share wins. O(1) per pick however many
 * workers there are, and near-even load without global coordination
 * (Mitzenmacher; Envoy's and Finagle's default).
 */
import { z } from 'zod';
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export const p2cConfig = z.object({}).strict();

/** Up to two distinct eligible candidates at random (random probes, then a scan from a random start). */
export function drawTwo<C extends PlacementCandidate>(candidates: readonly C[], eligible: (c: C) => boolean, random: () => number): C[] {
  const n = candidates.length;
  const out: C[] = [];
  for (let probe = 0; probe < 8 && out.length < 2; probe++) {
    const c = candidates[Math.floor(random() * n)]!;
    if (c !== out[0] && eligible(c)) out.push(c);
  }
  if (out.length < 2 && n > 0) {
    // Few eligible ones among many: walk from a random start (still unbiased enough, O(n) only then).
    const start = Math.floor(random() * n);
    for (let k = 0; k < n && out.length < 2; k++) {
      const c = candidates[(start + k) % n]!;
      if (c !== out[0] && eligible(c)) out.push(c);
    }
  }
  return out;
}

const share = (w: PlacementCandidate) => w.inFlight.size / Math.max(w.capacity, 1);

export class PowerOfTwoChoices implements PlacementStrategy {
  readonly name = 'p2c';
  constructor(private readonly random: () => number = Math.random) {}

  pick<C extends PlacementCandidate>({ candidates, eligible }: PlacementContext<C>): C | undefined {
    const [a, b] = drawTwo(candidates, eligible, this.random);
    if (!a || !b) return a;
    return share(b) < share(a) ? b : a;
  }
}
