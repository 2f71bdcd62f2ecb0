import { describe, expect, it } from 'vitest';
import { BinaryHeap } from '../../master/core/binary-heap.js';
import { rng } from '../helpers/random.js';

type Item = { v: number; i: number };

describe('BinaryHeap', () => {
  it('with tracking, removes arbitrary items and still pops the rest in order (randomized against a sorted list)', () => {
    const random = rng(42);
    for (let round = 0; round < 50; round++) {
      const heap = new BinaryHeap<Item>((a, b) => a.v < b.v, { set: (x, i) => (x.i = i), get: (x) => x.i });
      const items: Item[] = Array.from({ length: 1 + Math.floor(random() * 200) }, () => ({ v: Math.floor(random() * 100), i: -1 }));
      for (const it of items) heap.push(it);
      const removed = new Set(items.filter(() => random() < 0.4));
      for (const it of removed) expect(heap.remove(it)).toBe(true);
      for (const it of removed) expect(heap.remove(it)).toBe(false); // already gone
      const out: number[] = [];
      for (let x = heap.pop(); x !== undefined; x = heap.pop()) out.push(x.v);
      expect(out).toEqual(items.filter((it) => !removed.has(it)).map((it) => it.v).sort((a, b) => a - b));
      expect(heap.size).toBe(0);
    }
  });
});
