/**
 * The load index behind `least-loaded` at many workers (placement/load-index.ts):
 * its bit scan, filing on sync and touch, the pick (lowest level, rotation from
 * a start, wrap, ineligible ones skipped), and, over random fleets and random
 * reserve / release / capacity changes, the same choices as the scan it replaces.
 * Through the scheduler: the capacity owner and the registry keep it current.
 */
import { describe, expect, it } from 'vitest';
import { LoadIndex, nextSetBit } from '../../master/scheduling/placement/load-index.js';
import { LeastLoaded } from '../../master/scheduling/placement/least-loaded.js';
import type { PlacementCandidate } from '../../master/scheduling/placement/placement-strategy.js';
import { Scheduler, type SchedulableTask } from '../../master/scheduling/scheduler.js';
import { TaskQueue } from '../../master/core/task-queue.js';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import type { WorkerStatus__Output } from '../../common/wire.js';
import { requirementKey } from '../../common/task-kinds.js';

interface Cand extends PlacementCandidate {
  inFlight: Set<string>;
  capacity: number;
}
const cand = (id: string, capacity: number, used = 0): Cand => ({
  id,
  capacity,
  inFlight: new Set(Array.from({ length: used }, (_, i) => `${id}-t${i}`)),
  status: {} as never,
});
const all = () => true;

describe('nextSetBit', () => {
  it('finds the first set bit at or after a position, across words, or -1', () => {
    const bits = new Uint32Array(3);
    expect(nextSetBit(bits, 0)).toBe(-1);
    bits[0] = 1 << 31; // position 31 (the sign bit)
    bits[2] = 1 << 4; // position 68
    expect(nextSetBit(bits, 0)).toBe(31);
    expect(nextSetBit(bits, 31)).toBe(31);
    expect(nextSetBit(bits, 32)).toBe(68);
    expect(nextSetBit(bits, 68)).toBe(68);
    expect(nextSetBit(bits, 69)).toBe(-1);
    expect(nextSetBit(bits, 96)).toBe(-1); // past the end
    expect(nextSetBit(new Uint32Array(0), 0)).toBe(-1);
  });
});

describe('LoadIndex', () => {
  it('files free workers by load on sync, not full ones, and answers -1 before any sync', () => {
    const ix = new LoadIndex<Cand>();
    expect(ix.first(0, all)).toBe(-1);
    const c = [cand('a', 2, 1), cand('b', 2, 2), cand('c', 4, 0), cand('d', 1, 0)];
    ix.sync(c);
    expect(ix.size).toBe(3);
    expect(ix.first(0, all)).toBe(2); // c: idle, the lowest level
  });

  it('picks the lowest load, ties in rotation order from the start, wrapping', () => {
    const ix = new LoadIndex<Cand>();
    const c = [cand('a', 2, 0), cand('b', 2, 1), cand('c', 2, 0), cand('d', 2, 1)];
    ix.sync(c);
    expect(ix.first(0, all)).toBe(0);
    expect(ix.first(1, all)).toBe(2);
    expect(ix.first(3, all)).toBe(0); // wraps past the end
    expect(ix.first(7, all)).toBe(0); // a start past the end counts modulo the candidates
    expect(ix.first(-1, all)).toBe(0);
  });

  it('skips ineligible ones, then goes to the next level; -1 when none is eligible', () => {
    const ix = new LoadIndex<Cand>();
    const c = [cand('a', 2, 0), cand('b', 2, 1), cand('c', 2, 0)];
    ix.sync(c);
    expect(ix.first(2, (x) => x.id !== 'c')).toBe(0); // c rejected, a after the wrap
    expect(ix.first(0, (x) => x.id === 'b')).toBe(1); // both idle rejected: the next level
    expect(ix.first(0, () => false)).toBe(-1);
  });

  it('touch moves a worker between levels, drops it when full, brings it back, ignores strangers and no-ops', () => {
    const ix = new LoadIndex<Cand>();
    const c = [cand('a', 2, 0), cand('b', 2, 0)];
    ix.sync(c);
    c[0]!.inFlight.add('x');
    ix.touch(c[0]!);
    expect(ix.first(0, all)).toBe(1); // b idle, a at 0.5
    c[1]!.inFlight.add('y');
    c[1]!.inFlight.add('z');
    ix.touch(c[1]!);
    expect(ix.size).toBe(1);
    expect(ix.first(0, all)).toBe(0);
    c[0]!.inFlight.add('w');
    ix.touch(c[0]!);
    expect(ix.size).toBe(0);
    expect(ix.first(0, all)).toBe(-1); // a full fleet
    ix.touch(c[0]!); // full and still full: nothing changes
    c[1]!.capacity = 4; // a status raised its capacity: half loaded now
    ix.touch(c[1]!);
    expect(ix.first(0, all)).toBe(1);
    ix.touch(c[1]!); // same level: nothing changes
    expect(ix.size).toBe(1);
    ix.touch(cand('stranger', 2)); // not in the indexed array
    expect(ix.size).toBe(1);
  });

  it('re-files everything for a new candidates array, keeps the old filing for the same one', () => {
    const ix = new LoadIndex<Cand>();
    const a = cand('a', 1);
    const list = [a];
    ix.sync(list);
    a.inFlight.add('untold'); // changed without a touch: the same array is not re-read
    ix.sync(list);
    expect(ix.size).toBe(1);
    const b = cand('b', 1);
    ix.sync([a, b]); // membership changed
    expect(ix.size).toBe(1);
    expect(ix.first(0, all)).toBe(1);
  });

  it('makes the same choices as the scan over random fleets and random load changes', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let round = 0; round < 30; round++) {
      const n = 1 + Math.floor(rnd() * 90);
      let cands = Array.from({ length: n }, (_, i) => cand(`w${i}`, 1 + Math.floor(rnd() * 6)));
      const ix = new LoadIndex<Cand>();
      const scan = new LeastLoaded();
      const indexed = new LeastLoaded();
      let t = 0;
      for (let step = 0; step < 400; step++) {
        const r = rnd();
        if (r < 0.5) {
          const banned = rnd() < 0.2 ? cands[Math.floor(rnd() * cands.length)]!.id : undefined;
          const eligible = (c: Cand) => c.id !== banned && c.inFlight.size < c.capacity;
          const a = scan.pick({ candidates: cands, requirement: { kind: 'echo' }, eligible });
          const b = indexed.pick({ candidates: cands, requirement: { kind: 'echo' }, eligible, loads: ix });
          expect(b?.id).toBe(a?.id);
          if (a) {
            a.inFlight.add(`t${++t}`);
            ix.touch(a);
          }
        } else if (r < 0.85) {
          const c = cands[Math.floor(rnd() * cands.length)]!;
          const first = c.inFlight.values().next().value;
          if (first !== undefined) c.inFlight.delete(first);
          ix.touch(c);
        } else if (r < 0.95) {
          const c = cands[Math.floor(rnd() * cands.length)]!;
          c.capacity = 1 + Math.floor(rnd() * 6);
          ix.touch(c);
        } else {
          // A worker joins or leaves: a new array, as the registry hands out.
          cands = rnd() < 0.5 && cands.length > 1 ? cands.filter((_, i) => i !== Math.floor(rnd() * cands.length)) : [...cands, cand(`j${step}`, 1 + Math.floor(rnd() * 6))];
        }
      }
    }
  });
});

describe('LoadIndex through the scheduler', () => {
  const clock = { now: () => 1000 };
  const status = (id: string, capacity: number): WorkerStatus__Output =>
    ({ worker_id: id, state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity, running: 0, language: 'typescript', version: '1', protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, models: [], labels: {}, reason: '', load: null }) as unknown as WorkerStatus__Output;
  let seq = 0;
  const task = (id: string): SchedulableTask => ({ id, requirement: { kind: 'echo' }, key: requirementKey({ kind: 'echo' }), priority: 0, seq: ++seq });

  it('is kept current by reserve, release and a status that changes capacity', () => {
    const registry = new WorkerRegistry(clock);
    const queue = new TaskQueue<SchedulableTask>();
    const s = new Scheduler(queue, registry);
    registry.applyStatus(status('a', 1));
    registry.applyStatus(status('b', 1));
    for (let i = 0; i < 3; i++) queue.push(task(`t${i}`));
    expect([...s.matches()].map((m) => m.worker.id)).toEqual(['a', 'b']);
    expect(s.loads.size).toBe(0); // both full: reserve filed them out
    registry.applyStatus(status('b', 2)); // a progress status with more capacity (no membership change)
    expect(s.loads.size).toBe(1);
    expect([...s.matches()].map((m) => `${m.task.id}->${m.worker.id}`)).toEqual(['t2->b']);
    s.capacity.release(registry.get('a'), 't0', 'finished');
    expect(s.loads.size).toBe(1);
    queue.push(task('t3'));
    expect([...s.matches()].map((m) => `${m.task.id}->${m.worker.id}`)).toEqual(['t3->a']);
    s.capacity.releaseAll(registry.get('b')!, 'lost');
    expect(s.loads.size).toBe(1);
  });
});
