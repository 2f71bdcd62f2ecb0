/**
 * The placement strategies of issue "placement strategies": each distributes
 * as it claims, and each anchor bug named there is a case here.
 */
import { describe, expect, it } from 'vitest';
import { createPlacement } from '../../master/scheduling/placement/placement-registry.js';
import type { PlacementCandidate, PlacementContext } from '../../master/scheduling/placement/placement-strategy.js';
import { LeastLatency } from '../../master/scheduling/placement/least-latency.js';
import { rng as seededRandom } from '../helpers/random.js';

interface Fake extends PlacementCandidate {
  inFlight: Set<string>;
}

function workers(n: number, over: (i: number) => Partial<PlacementCandidate['status']> & { capacity?: number } = () => ({})): Fake[] {
  return Array.from({ length: n }, (_, i) => {
    const o = over(i);
    return {
      id: `w-${i}`,
      capacity: o.capacity ?? 8,
      inFlight: new Set<string>(),
      status: { worker_id: `w-${i}`, labels: {}, load: null, ...o } as unknown as PlacementCandidate['status'],
    };
  });
}

function ctx(cands: Fake[], key?: string, counter?: { calls: number }): PlacementContext<Fake> {
  return {
    candidates: cands,
    requirement: { kind: 'echo' },
    key,
    eligible: (c) => {
      if (counter) counter.calls++;
      return c.inFlight.size < c.capacity;
    },
  };
}

/** Picks `n` tasks without finishing any; returns picks per worker id. */
function spread(name: string, cands: Fake[], n: number, reserve = false): Map<string, number> {
  const s = createPlacement(name);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const w = s.pick(ctx(cands))!;
    counts.set(w.id, (counts.get(w.id) ?? 0) + 1);
    if (reserve) w.inFlight.add(`t-${i}`);
  }
  return counts;
}

describe('placement strategies', () => {
  it('round-robin, least-connections, p2c and least-load share equal idle workers (litellm#37622: not all to the first)', () => {
    for (const name of ['round-robin', 'least-connections', 'p2c', 'least-load', 'least-latency']) {
      const counts = spread(name, workers(10, () => ({ capacity: 1_000_000 })), 10_000);
      expect(counts.size, name).toBe(10);
      for (const c of counts.values()) expect(c, name).toBeGreaterThan(500);
    }
  });

  it('weighted: smooth 3:1 interleaving from the weight label', () => {
    const cands = workers(2, (i) => ({ labels: { weight: i === 0 ? '3' : '1' }, capacity: 1000 }));
    const s = createPlacement('weighted');
    const seq = Array.from({ length: 8 }, () => s.pick(ctx(cands))!.id);
    expect(seq.filter((id) => id === 'w-0')).toHaveLength(6);
    expect(seq.slice(0, 4)).not.toEqual(['w-0', 'w-0', 'w-0', 'w-1']); // smooth, not bursts
    expect(seq).toContain('w-1');
    // a bad label counts 1
    const bad = workers(2, (i) => ({ labels: { weight: i === 0 ? 'NaN' : '-2' }, capacity: 1000 }));
    const c = spread('weighted', bad, 100);
    expect(c.get('w-0')).toBe(50);
  });

  it('least-load prefers the host that reports less load and falls back to in-flight without reports', () => {
    const cands = workers(2, (i) => ({ load: { cpu: i === 0 ? 0.9 : 0.1, memory: 0.2, gpu: 0 } }));
    expect(createPlacement('least-load').pick(ctx(cands))!.id).toBe('w-1');
    const plain = workers(2);
    plain[0]!.inFlight.add('x');
    expect(createPlacement('least-load').pick(ctx(plain))!.id).toBe('w-1');
  });

  it('p2c and least-latency keep max/mean load <= 1.25 under a steady load with random completions', () => {
    for (const name of ['p2c', 'least-latency', 'least-connections']) {
      const rnd = seededRandom(7);
      const cands = workers(100, () => ({ capacity: 1000 }));
      const s = createPlacement(name);
      let worst = 0;
      for (let i = 0; i < 50_000; i++) {
        s.pick(ctx(cands))!.inFlight.add(`t-${i}`);
        // ~ steady state: remove a random task from a random busy worker
        if (i > 5000) {
          const w = cands[Math.floor(rnd() * cands.length)]!;
          const first = w.inFlight.values().next().value;
          if (first !== undefined) w.inFlight.delete(first);
        }
        if (i % 1000 === 999) {
          const loads = cands.map((c) => c.inFlight.size);
          const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
          if (mean > 40) worst = Math.max(worst, Math.max(...loads) / mean);
        }
      }
      console.log(`${name} worst max/mean ${worst.toFixed(3)}`);
      expect(worst, name).toBeLessThanOrEqual(1.25);
    }
  });

  it('p2c and least-latency look at O(1) candidates per pick among 1,000 (litellm#21270: no O(n) or O(n^2) selection)', () => {
    for (const name of ['p2c', 'least-latency']) {
      const cands = workers(1000);
      const counter = { calls: 0 };
      const s = createPlacement(name);
      for (let i = 0; i < 1000; i++) s.pick(ctx(cands, undefined, counter));
      expect(counter.calls / 1000, name).toBeLessThan(10);
    }
  });

  it('least-latency: a slow worker gets less, a new worker is not flooded (PR #40401), zero run times and capacities are safe (PR #39970)', () => {
    const now = 1_000_000;
    const s = new LeastLatency({ decayMs: 10_000 }, seededRandom(3), () => now);
    const cands = workers(10, () => ({ capacity: 1000 }));
    for (let i = 0; i < 9; i++) s.observe({ workerId: `w-${i}`, runMs: i === 0 ? 500 : 50, atMs: now });
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const w = s.pick(ctx(cands))!;
      counts.set(w.id, (counts.get(w.id) ?? 0) + 1);
    }
    expect(counts.get('w-0') ?? 0).toBeLessThan(counts.get('w-1')!);
    expect(counts.get('w-9')! / 10_000).toBeLessThan(0.25); // unmeasured: the median, not zero
    s.observe({ workerId: 'w-1', runMs: 0, atMs: now });
    s.observe({ workerId: 'w-2', runMs: Number.NaN, atMs: now });
    const zero = workers(2, () => ({ capacity: 0 }));
    expect(Number.isFinite(s.cost(zero[0]!))).toBe(true);
    expect(Number.isFinite(s.cost(cands[1]!))).toBe(true);
  });

  it('affinity: a key keeps its worker, keys spread, and a hot key overflows past the load bound', () => {
    const cands = workers(8, () => ({ capacity: 4 }));
    const s = createPlacement('affinity');
    const home = s.pick(ctx(cands, 'session-42'))!.id;
    for (let i = 0; i < 20; i++) expect(s.pick(ctx(cands, 'session-42'))!.id).toBe(home);
    const owners = new Set(Array.from({ length: 200 }, (_, i) => s.pick(ctx(cands, `k-${i}`))!.id));
    expect(owners.size).toBe(8);
    // the hot key fills its home up to the bound, then spills to others
    const placed: string[] = [];
    for (let i = 0; i < 16; i++) {
      const w = s.pick(ctx(cands, 'hot'))!;
      w.inFlight.add(`h-${i}`);
      placed.push(w.id);
    }
    expect(new Set(placed).size).toBeGreaterThan(1);
    for (const c of cands) expect(c.inFlight.size).toBeLessThanOrEqual(4);
    // a worker leaving moves only its own keys
    const all = workers(8, () => ({ capacity: 4 }));
    const without3 = workers(8, () => ({ capacity: 4 })).filter((c) => c.id !== 'w-3');
    const before = Array.from({ length: 200 }, (_, i) => s.pick(ctx(all, `k-${i}`))!.id);
    const after = Array.from({ length: 200 }, (_, i) => s.pick(ctx(without3, `k-${i}`))!.id);
    const moved = before.filter((id, i) => id !== after[i]);
    expect(moved.every((id) => id === 'w-3')).toBe(true);
  });

  it('unknown names and bad configs name the field', () => {
    expect(() => createPlacement('nope', {}, 'TASKWIRE_PLACEMENT')).toThrow(/TASKWIRE_PLACEMENT|unknown placement/);
    expect(() => createPlacement('affinity', { balance: 0.5 })).toThrow(/balance/);
  });
});
