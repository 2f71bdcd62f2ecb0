/** Weighted-fair order across tenants in the real TaskQueue (FairShare as its QueueOrder). */
import { describe, expect, it } from 'vitest';
import { TaskQueue, type QueuedTask } from '../../master/core/task-queue.js';
import { FairShare, parseFairShare } from '../../master/limits/fair-share.js';

type T = QueuedTask & { tenant: string };
let seq = 0;
const task = (tenant: string, priority = 0): T => ({ id: `t${++seq}`, key: 'echo', priority, seq, tenant });

function drain(q: TaskQueue<T>, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = q.best();
    if (!t) break;
    q.take(t.key);
    out.push(t.tenant);
  }
  return out;
}

describe('FairShare', () => {
  it('FIFO without it: a backlog runs first', () => {
    const q = new TaskQueue<T>();
    for (let i = 0; i < 100; i++) q.push(task('big'));
    q.push(task('small'));
    expect(drain(q, 100).includes('small')).toBe(false);
  });

  it('a new tenant runs next to a 100k backlog, not after it; weights share the rest', () => {
    const q = new TaskQueue<T>();
    q.useOrder(new FairShare<T>((t) => t.tenant, new Map([['heavy', 3]])));
    for (let i = 0; i < 100_000; i++) q.push(task('big'));
    expect(drain(q, 10)).toEqual(Array(10).fill('big'));
    q.push(task('small'));
    expect(drain(q, 2)).toContain('small');
    // two more tenants with backlogs of their own: shares by weight (heavy 3, light 1)
    for (let i = 0; i < 100; i++) q.push(task('heavy')), q.push(task('light'));
    const next = drain(q, 100);
    const count = (n: string) => next.filter((x) => x === n).length;
    expect([count('heavy'), count('light'), count('big')].map((c) => Math.round(c / 10))).toEqual([6, 2, 2]); // 3 : 1 : 1
    expect(q.size).toBe(100_000 - 10 - 100 + 200 - 1);
  });

  it('priorities still come first', () => {
    const q = new TaskQueue<T>();
    q.useOrder(new FairShare<T>((t) => t.tenant));
    q.push(task('a'));
    q.push(task('b', 5));
    expect(drain(q, 1)).toEqual(['b']);
  });

  it('parses the setting and names the variable on a bad value', () => {
    expect(parseFairShare('')).toBeUndefined();
    expect(parseFairShare('off')).toBeUndefined();
    expect(parseFairShare('on')).toEqual({ weights: new Map(), defaultWeight: 1 });
    expect(parseFairShare('acme=3, *=2')).toEqual({ weights: new Map([['acme', 3]]), defaultWeight: 2 });
    expect(() => parseFairShare('acme=0')).toThrow(/TASKWIRE_FAIR_SHARE: "acme=0"/);
  });
});
