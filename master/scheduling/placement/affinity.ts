/**
 * `affinity`: consistent hashing with bounded loads (Mirrokni, Thorup,
 * Zadimoghaddam 2018; HAProxy's hash-balance-factor). A task's key (its
 * chat session for multi-turn LLM work, its model for inference, or a key
 * it names) maps to a point on a ring of virtual nodes; the first eligible
 * worker clockwise whose in-flight count stays within `balance` × the mean
 * takes it. The same key keeps its worker (warm caches, loaded models)
 * while that worker is not overloaded, and a worker joining or leaving
 * moves only ~1/n of the keys. Tasks without a key go to the least loaded.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PlacementCandidate, PlacementContext, PlacementStrategy } from './placement-strategy.js';

export const affinityConfig = z.object({
  /** How far above the mean in-flight a worker may go and still keep its keys (default 1.25). */
  balance: z.number().min(1).max(10).default(1.25),
  /** Virtual nodes per worker (default 64). */
  vnodes: z.number().int().min(1).max(1024).default(64),
}).strict();
export type AffinityConfig = z.infer<typeof affinityConfig>;

function hash32(s: string): number {
  return createHash('sha1').update(s).digest().readUInt32BE(0);
}

interface Ring {
  /** The candidates array it was built for (the registry hands out a new array when membership changes). */
  of: readonly PlacementCandidate[];
  points: Uint32Array;
  /** Index into `of` of each point's worker. */
  owners: Uint32Array;
}

export class Affinity implements PlacementStrategy {
  readonly name = 'affinity';
  private ring: Ring | undefined;

  constructor(private readonly config: AffinityConfig = { balance: 1.25, vnodes: 64 }) {}

  private ringFor(candidates: readonly PlacementCandidate[]): Ring {
    if (this.ring?.of === candidates) return this.ring;
    const nodes: { point: number; owner: number }[] = [];
    candidates.forEach((c, i) => {
      for (let v = 0; v < this.config.vnodes; v++) nodes.push({ point: hash32(`${c.id}#${v}`), owner: i });
    });
    nodes.sort((a, b) => a.point - b.point);
    this.ring = { of: candidates, points: Uint32Array.from(nodes.map((n) => n.point)), owners: Uint32Array.from(nodes.map((n) => n.owner)) };
    return this.ring;
  }

  pick<C extends PlacementCandidate>({ candidates, eligible, key }: PlacementContext<C>): C | undefined {
    if (candidates.length === 0) return undefined;
    let total = 0;
    let slots = 0;
    for (const c of candidates) {
      total += c.inFlight.size;
      slots += c.capacity;
    }
    if (key === undefined || key === '') return this.leastLoaded(candidates, eligible);
    const ring = this.ringFor(candidates);
    // The bound counts the task being placed; per slot, so big workers keep more keys.
    const perSlot = (total + 1) / Math.max(slots, 1);
    const h = hash32(key);
    let lo = 0;
    let hi = ring.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ring.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const seen = new Set<number>();
    for (let k = 0; k < ring.points.length && seen.size < candidates.length; k++) {
      const owner = ring.owners[(lo + k) % ring.points.length]!;
      if (seen.has(owner)) continue;
      seen.add(owner);
      const c = candidates[owner]!;
      if (!eligible(c)) continue;
      if (c.inFlight.size + 1 <= Math.ceil(this.config.balance * perSlot * c.capacity)) return c;
    }
    return this.leastLoaded(candidates, eligible);
  }

  private leastLoaded<C extends PlacementCandidate>(candidates: readonly C[], eligible: (c: C) => boolean): C | undefined {
    let best: C | undefined;
    let bestLoad = Infinity;
    for (const c of candidates) {
      if (!eligible(c)) continue;
      const load = c.inFlight.size / Math.max(c.capacity, 1);
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
      }
    }
    return best;
  }
}
