import { describe, expect, it } from 'vitest';
import { TaskQueue, type QueuedTask } from '../../master/core/task-queue.js';

const t = (id: string, priority: number, seq: number, key = 'echo'): QueuedTask => ({ id, key, priority, seq });

describe('TaskQueue', () => {
  it('orders by priority (higher first), FIFO within a priority', () => {
    const q = new TaskQueue();
    q.push(t('a', 0, 1));
    q.push(t('b', 5, 2));
    q.push(t('c', 0, 3));
    q.push(t('d', 5, 4));
    q.push(t('e', 9, 5));
    const order: string[] = [];
    for (let x = q.best(); x; x = q.best()) order.push(q.take(x.key)!.id);
    expect(order).toEqual(['e', 'b', 'd', 'a', 'c']);
    expect(q.size).toBe(0);
  });

  it('keeps a re-queued task at its original place (by seq)', () => {
    const q = new TaskQueue();
    for (let i = 2; i <= 5; i++) q.push(t(`t${i}`, 0, i));
    q.push(t('t1', 0, 1));
    expect(q.take('echo')!.id).toBe('t1');
  });

  it('removes lazily: a removed task is never returned', () => {
    const q = new TaskQueue();
    q.push(t('a', 1, 1));
    q.push(t('b', 1, 2));
    expect(q.remove('a')).toBe(true);
    expect(q.remove('a')).toBe(false);
    expect(q.best()!.id).toBe('b');
    expect(q.size).toBe(1);
  });

  it('picks the best head across keys and honours exclusions', () => {
    const q = new TaskQueue();
    q.push(t('e1', 0, 1, 'echo'));
    q.push(t('s1', 3, 2, 'sleep'));
    q.push(t('l1', 3, 0, 'llm'));
    expect(q.best()!.id).toBe('l1');
    expect(q.best(new Set(['llm']))!.id).toBe('s1');
    expect(q.best(new Set(['llm', 'sleep']))!.id).toBe('e1');
    expect(q.best(new Set(['llm', 'sleep', 'echo']))).toBeUndefined();
    expect(Object.fromEntries(q.depthByKey())).toEqual({ echo: 1, sleep: 1, llm: 1 });
  });

  it('ignores a duplicate push of a queued id', () => {
    const q = new TaskQueue();
    q.push(t('a', 0, 1));
    q.push(t('a', 0, 1));
    expect(q.size).toBe(1);
    q.take('echo');
    expect(q.best()).toBeUndefined();
  });

  it('stays ordered under many random operations', () => {
    const q = new TaskQueue();
    const live = new Map<string, QueuedTask>();
    let seq = 0;
    for (let i = 0; i < 2000; i++) {
      const r = (i * 7919) % 10;
      if (r < 6) {
        const x = t(`x${i}`, (i * 31) % 10, ++seq);
        q.push(x);
        live.set(x.id, x);
      } else if (r < 8 && live.size > 0) {
        const id = [...live.keys()][(i * 13) % live.size]!;
        q.remove(id);
        live.delete(id);
      } else {
        const expected = [...live.values()].sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0];
        const got = q.best();
        expect(got?.id).toBe(expected?.id);
        if (got) {
          q.take(got.key);
          live.delete(got.id);
        }
      }
    }
    expect(q.size).toBe(live.size);
  });
});
