/**
 * Workers with a free slot, filed by load (in flight / capacity), for
 * `least-loaded` with many workers: its pick is "the lowest load, ties in
 * rotation order from a start position", which a scan answers in
 * O(workers) per task. Here each load level holds a bitset of candidate
 * positions, and the levels in use are kept sorted, so a pick looks at
 * the lowest level first and finds the next position from the start with
 * a few word operations: O(levels + workers / 32) at worst, O(1) for a
 * fleet of equal workers. Full workers are not filed (a full fleet costs
 * nothing to ask).
 *
 * It is kept up to date, not rebuilt: the capacity owner (capacity.ts)
 * calls `touch` whenever a worker's in-flight set changes, the scheduler
 * whenever the registry reports a status (capacity may change). A new
 * candidates array (the registry hands out one when membership changes)
 * re-files everything once, on the next pick.
 */
import type { PlacementCandidate } from './placement-strategy.js';

interface Level {
  bits: Uint32Array;
  count: number;
}

/** The first set bit at a position >= `from`, or -1. */
export function nextSetBit(bits: Uint32Array, from: number): number {
  let w = from >>> 5;
  if (w >= bits.length) return -1;
  let word = bits[w]! & (-1 << (from & 31));
  for (;;) {
    if (word !== 0) return (w << 5) + 31 - Math.clz32(word & -word);
    if (++w >= bits.length) return -1;
    word = bits[w]!;
  }
}

export class LoadIndex<C extends PlacementCandidate = PlacementCandidate> {
  private of: readonly C[] | undefined;
  private readonly pos = new Map<C, number>();
  /** The load each position is filed under; NaN: not filed (full). */
  private filed = new Float64Array(0);
  private readonly levels = new Map<number, Level>();
  /** Loads with at least one filed worker, ascending. */
  private readonly sorted: number[] = [];

  /** Files every candidate again when `candidates` is not the array indexed (membership changed). */
  sync(candidates: readonly C[]): void {
    if (this.of === candidates) return;
    this.of = candidates;
    this.pos.clear();
    this.levels.clear();
    this.sorted.length = 0;
    this.filed = new Float64Array(candidates.length).fill(NaN);
    for (let i = 0; i < candidates.length; i++) {
      this.pos.set(candidates[i]!, i);
      this.file(i, candidates[i]!);
    }
  }

  /** A candidate's load or capacity changed; one not in the indexed array is ignored. */
  touch(c: C): void {
    const i = this.pos.get(c);
    if (i === undefined) return;
    const was = this.filed[i]!;
    const used = c.inFlight.size;
    const now = used < c.capacity ? used / c.capacity : NaN;
    if (was === now || (Number.isNaN(was) && Number.isNaN(now))) return;
    if (!Number.isNaN(was)) this.unfile(i, was);
    if (!Number.isNaN(now)) this.fileAt(i, now);
  }

  /** Filed workers (with a free slot). */
  get size(): number {
    let n = 0;
    for (const l of this.levels.values()) n += l.count;
    return n;
  }

  /**
   * The position of the least loaded candidate with a free slot that
   * `eligible` accepts, ties going to the first at or after `start` in
   * rotation order; -1 when there is none. What a scan of all candidates
   * from `start` keeping the first strictly lower load returns.
   */
  first(start: number, eligible: (c: C) => boolean): number {
    const of = this.of;
    if (!of) return -1;
    const n = of.length;
    const from = n === 0 ? 0 : ((start % n) + n) % n;
    for (let k = 0; k < this.sorted.length; k++) {
      const bits = this.levels.get(this.sorted[k]!)!.bits;
      // From `from` to the end, then from 0 to just before `from`.
      for (let p = nextSetBit(bits, from); p >= 0; p = nextSetBit(bits, p + 1)) if (eligible(of[p]!)) return p;
      for (let p = nextSetBit(bits, 0); p >= 0 && p < from; p = nextSetBit(bits, p + 1)) if (eligible(of[p]!)) return p;
    }
    return -1;
  }

  private file(i: number, c: C): void {
    const used = c.inFlight.size;
    if (used < c.capacity) this.fileAt(i, used / c.capacity);
  }

  private fileAt(i: number, load: number): void {
    let level = this.levels.get(load);
    if (!level) this.levels.set(load, (level = { bits: new Uint32Array((this.filed.length + 31) >>> 5), count: 0 }));
    if (level.count++ === 0) {
      let lo = 0;
      let hi = this.sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.sorted[mid]! < load) lo = mid + 1;
        else hi = mid;
      }
      this.sorted.splice(lo, 0, load);
    }
    level.bits[i >>> 5]! |= 1 << (i & 31);
    this.filed[i] = load;
  }

  private unfile(i: number, load: number): void {
    const level = this.levels.get(load)!;
    level.bits[i >>> 5]! &= ~(1 << (i & 31));
    this.filed[i] = NaN;
    if (--level.count === 0) this.sorted.splice(this.sorted.indexOf(load), 1);
  }
}
