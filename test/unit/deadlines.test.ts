/** The deadline wheel: due entries fire once, in deadline order, whatever the distance and however they were added or cleared. */
import { describe, expect, it } from 'vitest';
import { type Deadline, Deadlines } from '../../master/core/deadlines.js';

function rig(start = 1_000_000) {
  let now = start;
  const fired: Deadline[] = [];
  let onDue = (d: Deadline): void => {
    fired.push(d);
  };
  const dl = new Deadlines({ now: () => now }, (d) => onDue(d), 50);
  return {
    dl,
    fired,
    set: (ms: number) => (now = ms),
    at: () => now,
    onDue: (f: (d: Deadline) => void) => (onDue = f),
  };
}

describe('Deadlines (timing wheel)', () => {
  it('fires due entries in deadline order, each once, and keeps the rest', () => {
    const r = rig();
    const t0 = r.at();
    const ats = [t0 + 120, t0 + 5, t0 + 49, t0 + 51, t0 + 300_000, t0 + 10, t0 + 120];
    ats.forEach((atMs, i) => r.dl.add({ atMs, taskId: `t${i}`, kind: 'run', attempt: 1 }));
    expect(r.dl.size).toBe(7);
    expect(r.dl.runDue()).toBe(0);
    r.set(t0 + 49);
    r.dl.runDue();
    expect(r.fired.map((d) => d.atMs - t0)).toEqual([5, 10, 49]);
    r.set(t0 + 200);
    r.dl.runDue();
    expect(r.fired.map((d) => d.atMs - t0)).toEqual([5, 10, 49, 51, 120, 120]);
    expect(r.dl.size).toBe(1);
    r.dl.runDue();
    expect(r.fired).toHaveLength(6);
    // More than a whole turn of the wheel (4096 ticks of 50 ms) later.
    r.set(t0 + 400_000);
    r.dl.runDue();
    expect(r.fired.map((d) => d.atMs - t0).at(-1)).toBe(300_000);
    expect(r.dl.size).toBe(0);
  });

  it('fires an entry whose deadline is already past on the next run, and one added while firing in the same run', () => {
    const r = rig();
    const t0 = r.at();
    r.set(t0 + 1000);
    r.dl.runDue();
    r.dl.add({ atMs: t0 - 5000, taskId: 'late', kind: 'queue', attempt: 0 });
    r.onDue((d) => {
      r.fired.push(d);
      if (d.taskId === 'late') r.dl.add({ atMs: r.at(), taskId: 'chained', kind: 'retry', attempt: 1 });
    });
    expect(r.dl.runDue()).toBe(2);
    expect(r.fired.map((d) => d.taskId)).toEqual(['late', 'chained']);
  });

  it('clears a task\'s entries by kind or all, also one cleared by a handler in the same run', () => {
    const r = rig();
    const t0 = r.at();
    r.dl.add({ atMs: t0 + 100, taskId: 'a', kind: 'run', attempt: 1 });
    r.dl.add({ atMs: t0 + 100, taskId: 'a', kind: 'lease', attempt: 1 });
    r.dl.add({ atMs: t0 + 100, taskId: 'a', kind: 'queue', attempt: 0 });
    r.dl.add({ atMs: t0 + 90, taskId: 'b', kind: 'run', attempt: 1 });
    r.dl.add({ atMs: t0 + 95, taskId: 'c', kind: 'run', attempt: 1 });
    r.dl.clear('a', ['run', 'lease']);
    expect(r.dl.size).toBe(3);
    // b's handler ends task c: c's deadline, due in the same run, must not fire.
    r.onDue((d) => {
      r.fired.push(d);
      if (d.taskId === 'b') r.dl.clear('c');
    });
    r.set(t0 + 100);
    expect(r.dl.runDue()).toBe(2);
    expect(r.fired.map((d) => `${d.taskId}:${d.kind}`)).toEqual(['b:run', 'a:queue']);
    expect(r.dl.size).toBe(0);
    r.dl.clear('a');
    r.dl.clear('nobody');
    expect(r.dl.size).toBe(0);
  });

  it('holds many entries and fires every one exactly once over time', () => {
    const r = rig();
    const t0 = r.at();
    const n = 20_000;
    for (let i = 0; i < n; i++) r.dl.add({ atMs: t0 + ((i * 7919) % 600_000), taskId: `t${i}`, kind: 'run', attempt: 1 });
    for (let i = 0; i < n; i += 2) r.dl.clear(`t${i}`);
    for (let t = t0; t <= t0 + 600_000; t += 1234) {
      r.set(t);
      r.dl.runDue();
    }
    r.set(t0 + 600_000);
    r.dl.runDue();
    expect(r.fired).toHaveLength(n / 2);
    expect(new Set(r.fired.map((d) => d.taskId)).size).toBe(n / 2);
    expect(r.fired.every((d) => Number(d.taskId.slice(1)) % 2 === 1)).toBe(true);
    for (let i = 1; i < r.fired.length; i++) expect(r.fired[i]!.atMs).toBeGreaterThanOrEqual(r.fired[i - 1]!.atMs - 1234);
    expect(r.dl.size).toBe(0);
  });
});
