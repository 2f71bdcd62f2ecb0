import { describe, expect, it } from 'vitest';
import { PlacementRouter } from '../../master/scheduling/placement/placement-router.js';
import type { PlacementCandidate, PlacementContext } from '../../master/scheduling/placement/placement-strategy.js';
import { SlowStart } from '../../master/scheduling/placement/slow-start.js';
import { createPlacement } from '../../master/scheduling/placement/placement-registry.js';

interface Cand extends PlacementCandidate {
  inFlight: Set<string>;
}

function worker(id: string, capacity: number, connectedAtMs: number | null): Cand {
  return { id, capacity, inFlight: new Set(), connectedAtMs, status: {} as PlacementCandidate['status'] };
}

function ctx(candidates: Cand[]): PlacementContext<Cand> {
  return { candidates, requirement: { kind: 'echo' }, eligible: (c) => c.inFlight.size < c.capacity };
}

/** A seeded PRNG (mulberry32): the shares are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Share of `n` picks (each released at once) that went to `id`, for a strategy behind slow start at time `now`. */
function share(strategyName: string, ws: Cand[], id: string, now: number, n = 4000): number {
  const s = new SlowStart({ windowMs: 10_000, random: rng(7) });
  const strategy = createPlacement(strategyName);
  let hits = 0;
  for (let i = 0; i < n; i++) if (s.pick(strategy, ctx(ws), now)?.id === id) hits++;
  return hits / n;
}

describe('slow start', () => {
  it('ramps a new worker linearly from minShare to 1 over the window; old and unknown join times are at 1', () => {
    const s = new SlowStart({ windowMs: 10_000, minShare: 0.1 });
    const w = worker('new', 8, 1000);
    expect(s.ramp(w, 1000)).toBeCloseTo(0.1);
    expect(s.ramp(w, 6000)).toBeCloseTo(0.55);
    expect(s.ramp(w, 11_000)).toBe(1);
    expect(s.ramp(worker('x', 8, null), 0)).toBe(1);
    expect(new SlowStart({ windowMs: 0 }).ramp(w, 1000)).toBe(1);
    // The slot cap: at least one, all of them after the window.
    expect(s.allowedSlots(w, 1000)).toBe(1);
    expect(s.allowedSlots(w, 6000)).toBe(4);
    expect(s.allowedSlots(w, 11_000)).toBe(8);
  });

  it.each(['round-robin', 'least-loaded', 'p2c', 'least-connections', 'weighted'])('%s: the new worker\'s share grows over the window to an equal share', (name) => {
    const ws = [worker('old-1', 4, 0), worker('old-2', 4, 0), worker('new', 4, 100_000)];
    const early = share(name, ws, 'new', 100_000);
    const mid = share(name, ws, 'new', 105_000);
    const late = share(name, ws, 'new', 111_000);
    expect(early).toBeLessThan(0.1);
    expect(mid).toBeGreaterThan(early);
    expect(late).toBeGreaterThan(mid);
    expect(late).toBeGreaterThan(0.28);
    expect(late).toBeLessThan(0.39);
  });

  it('caps what a new worker holds at once, and never starves a lone new worker', () => {
    const s = new SlowStart({ windowMs: 10_000, random: () => 0.99 });
    const strategy = createPlacement('least-loaded');
    const lone = worker('new', 8, 0);
    // Alone, at join: the soft gate says no, the retry with the cap alone says yes: one task.
    const first = s.pick(strategy, ctx([lone]), 0);
    expect(first?.id).toBe('new');
    lone.inFlight.add('t1');
    expect(s.pick(strategy, ctx([lone]), 0)).toBeUndefined(); // cap 1 reached: the task waits
    lone.inFlight.add('t2');
    lone.inFlight.add('t3');
    expect(s.pick(strategy, ctx([lone]), 10_000)?.id).toBe('new'); // after the window: all 8 slots
  });

  it('sits in the router before every strategy and is changeable at run time', () => {
    let now = 0;
    const router = new PlacementRouter({ default: 'round-robin' }, { slowStartMs: 10_000, now: () => now, random: rng(3) });
    const ws = [worker('old', 100, -1e9), worker('new', 100, 0)];
    let toNew = 0;
    for (let i = 0; i < 1000; i++) if (router.pick(ctx(ws))?.id === 'new') toNew++;
    expect(toNew).toBeLessThan(200);
    router.slowStart.windowMs = 0;
    toNew = 0;
    for (let i = 0; i < 1000; i++) if (router.pick(ctx(ws))?.id === 'new') toNew++;
    expect(toNew).toBe(500);
    now = 0;
  });
});
