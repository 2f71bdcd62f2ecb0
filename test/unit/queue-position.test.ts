import { describe, expect, it } from 'vitest';
import { TaskQueue, type QueuedTask } from '../../master/core/task-queue.js';

const t = (id: string, seq: number, priority = 0, key = 'sleep'): QueuedTask => ({ id, key, priority, seq });

describe('TaskQueue.position', () => {
  it('counts higher priorities first, then FIFO within a priority, per key', () => {
    const q = new TaskQueue();
    q.push(t('a', 1));
    q.push(t('b', 2));
    q.push(t('c', 3, 5));
    q.push(t('d', 4, -1));
    q.push(t('x', 5, 9, 'echo'));
    expect(q.position('c')).toBe(0);
    expect(q.position('a')).toBe(1);
    expect(q.position('b')).toBe(2);
    expect(q.position('d')).toBe(3);
    expect(q.position('x')).toBe(0);
    expect(q.position('nope')).toBeUndefined();
    expect(q.aheadOf('sleep', 0)).toBe(3);
    expect(q.aheadOf('sleep', 6)).toBe(0);
    expect(q.depth('sleep')).toBe(4);
  });

  it('moves as tasks are taken, cancelled and re-queued with their old seq', () => {
    const q = new TaskQueue();
    for (let i = 1; i <= 5; i++) q.push(t(`t${i}`, i));
    expect(q.take('sleep')?.id).toBe('t1');
    expect(q.position('t5')).toBe(3);
    q.remove('t3');
    expect(q.position('t5')).toBe(2);
    expect(q.position('t3')).toBeUndefined();
    q.push(t('t1', 1)); // re-queued: keeps its place at the front
    expect(q.position('t1')).toBe(0);
    expect(q.position('t5')).toBe(3);
    const order: string[] = [];
    for (let h = q.take('sleep'); h; h = q.take('sleep')) order.push(h.id);
    expect(order).toEqual(['t1', 't2', 't4', 't5']);
    expect(q.depth('sleep')).toBe(0);
  });

  it('agrees with a sorted reference over random operations', () => {
    const q = new TaskQueue();
    const ref = new Map<string, QueuedTask>();
    let seq = 0;
    let rnd = 42;
    const next = () => (rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 3000; step++) {
      const r = next();
      if (r < 0.5 || ref.size === 0) {
        const task = t(`id${++seq}`, seq, Math.floor(next() * 4));
        q.push(task);
        ref.set(task.id, task);
      } else if (r < 0.75) {
        const h = q.take('sleep');
        if (h) ref.delete(h.id);
      } else {
        const ids = [...ref.keys()];
        const id = ids[Math.floor(next() * ids.length)]!;
        q.remove(id);
        ref.delete(id);
      }
      if (step % 50 === 0) {
        const sorted = [...ref.values()].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
        sorted.forEach((task, i) => expect(q.position(task.id)).toBe(i));
      }
    }
  });
});
