/**
 * The master's per-task metrics are plain cells handed to prom-client when
 * /metrics is collected (common/cell-metrics.ts). Checked two
 * ways: the cells against prom-client's own Counter and Histogram fed the same
 * values (the same text, cumulative buckets, a value on a bound counted in
 * that bound's bucket), and a real master after real tasks of two kinds and
 * four outcomes, whose scraped counts per kind and status and whose run, queue
 * wait and dispatch buckets equal what the task records say happened.
 */
import { promSamples } from '../helpers/prom-text.js';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { CellCounter, CellHistogram } from '../../common/cell-metrics.js';
import type { TaskRecord } from '../../master/core/task-record.js';
import type { JsonValue } from '../../common/json-value.js';

const BOUNDS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600];

const samples = promSamples;

describe('cell metrics against prom-client', () => {
  it('a histogram writes the same text as prom-client\'s for the same observations', async () => {
    const cells = new Registry();
    const prom = new Registry();
    const config = { name: 'x_seconds', help: 'x', labelNames: ['kind', 'tenant'], buckets: BOUNDS };
    const a = new CellHistogram({ ...config, registers: [cells] });
    const b = new Histogram({ ...config, registers: [prom] });
    // On every bound, just above and below it, 0, past the last bound; two series.
    const values = [0, ...BOUNDS, ...BOUNDS.map((x) => x * 1.0001), ...BOUNDS.map((x) => x * 0.9999), 1000, 0.0001, 0.3, 0.3];
    const echo = a.cell({ kind: 'echo', tenant: 't' });
    for (const v of values) {
      echo.observe(v);
      b.observe({ kind: 'echo', tenant: 't' }, v);
    }
    a.observe({ kind: 'sleep', tenant: 'u' }, 2);
    b.observe({ kind: 'sleep', tenant: 'u' }, 2);
    const text = await cells.metrics();
    expect(text).toBe(await prom.metrics());
    // Cumulative: never decreasing, +Inf = _count; a value on a bound is in that bound's bucket (le).
    const s = samples(text);
    let last = 0;
    for (const le of BOUNDS) {
      const v = s.get(`x_seconds_bucket{le="${le}",kind="echo",tenant="t"}`)!;
      expect(v).toBeGreaterThanOrEqual(last);
      expect(v).toBe(values.filter((x) => x <= le).length);
      last = v;
    }
    expect(s.get('x_seconds_bucket{le="+Inf",kind="echo",tenant="t"}')).toBe(values.length);
    expect(s.get('x_seconds_count{kind="echo",tenant="t"}')).toBe(values.length);
  });

  it('a counter writes the same text as prom-client\'s, labels in the order given', async () => {
    const cells = new Registry();
    const prom = new Registry();
    const config = { name: 'y_total', help: 'y', labelNames: ['kind', 'status', 'tenant'] };
    const a = new CellCounter({ ...config, registers: [cells] });
    const b = new Counter({ ...config, registers: [prom] });
    const labels = [
      { kind: 'echo', tenant: 'acme', status: 'succeeded' },
      { kind: 'echo', tenant: 'acme', status: 'failed' },
      { kind: 'sleep', tenant: 'globex', status: 'succeeded' },
    ];
    for (let i = 0; i < 10; i++) {
      const l = labels[i % 3]!;
      a.cell(l).value += i;
      b.inc(l, i);
    }
    a.inc({ kind: 'llm', tenant: 'x', status: 'expired' }, 0); // shown at 0, as prom-client's inc(labels, 0)
    b.inc({ kind: 'llm', tenant: 'x', status: 'expired' }, 0);
    expect(await cells.metrics()).toBe(await prom.metrics());
  });

  it('shows a series only once something was recorded (or zero() was called); reset removes them, cells stay valid', async () => {
    const r = new Registry();
    const h = new CellHistogram({ name: 'z_seconds', help: 'z', labelNames: ['kind'], buckets: [1], registers: [r] });
    const cell = h.cell({ kind: 'echo' });
    expect(await r.metrics()).not.toContain('z_seconds_bucket');
    cell.observe(Number.NaN); // not finite: dropped
    cell.observe(Number.POSITIVE_INFINITY);
    expect(cell.count).toBe(0);
    cell.observe(2);
    expect(samples(await r.metrics()).get('z_seconds_bucket{le="+Inf",kind="echo"}')).toBe(1);
    expect(samples(await r.metrics()).get('z_seconds_bucket{le="1",kind="echo"}')).toBe(0);
    h.reset();
    expect(await r.metrics()).not.toContain('z_seconds_bucket');
    cell.observe(0.5);
    expect(samples(await r.metrics()).get('z_seconds_count{kind="echo"}')).toBe(1);
    h.zero({ kind: 'sleep' });
    expect(samples(await r.metrics()).get('z_seconds_count{kind="sleep"}')).toBe(0);
    expect(() => h.cell({ kind: 'x', nope: 'y' } as { kind: string })).toThrow(/no label nope/);
    expect(() => h.cell({})).toThrow(/label kind is missing/);
    expect(() => new CellCounter({ name: 'c_total', help: 'c', registers: [r] }).inc({}, -1)).toThrow(/only goes up/);
  });
});

describe('the master\'s task metrics equal what happened', () => {
  let c: TestCluster;
  const ids: string[] = [];

  const admit = (kind: 'echo' | 'sleep', input: unknown, timeoutMs?: number) => {
    const { task } = c.master.tasks.admit({ kind, input: input as JsonValue, maxAttempts: 1, ...(timeoutMs ? { timeoutMs } : {}) });
    ids.push(task.id);
    return task.id;
  };
  const finalOf = (id: string) => {
    const t = c.master.tasks.get(id);
    return t && ['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status) ? t : undefined;
  };

  beforeAll(async () => {
    c = await startCluster({ workers: 2, workerCapacity: 8 });
    // Run times spread over the buckets: echo (sub-millisecond to a few ms) and sleeps of 0 to 150 ms.
    for (let i = 0; i < 30; i++) admit('echo', { text: `e${i}` });
    for (const ms of [0, 0, 3, 3, 12, 12, 40, 40, 150, 150]) admit('sleep', { ms });
    // Past its run timeout on its only attempt: expired (or failed when the worker's abort wins).
    admit('sleep', { ms: 5000 }, 300);
    admit('sleep', { ms: 5000 }, 300);
    // Cancelled while it runs.
    const cancelled = admit('sleep', { ms: 60_000 });
    await waitFor(() => c.master.tasks.get(cancelled)?.status === 'running', 'the long sleep running', 15_000);
    c.master.tasks.cancel(cancelled);
    await waitFor(() => ids.every((id) => finalOf(id)), 'every task final', 30_000);
  }, 60_000);

  afterAll(async () => {
    await c?.close();
  });

  it('counts submitted and finished tasks per kind and status as the records say', async () => {
    const s = samples(await (await fetch(`${c.httpUrl}/metrics`)).text());
    const records = ids.map((id) => finalOf(id)!);
    const statuses = new Set(records.map((t) => t.status));
    expect(statuses.has('succeeded') && statuses.has('cancelled') && (statuses.has('expired') || statuses.has('failed'))).toBe(true);
    for (const kind of ['echo', 'sleep']) {
      const of = records.filter((t) => t.kind === kind);
      expect(s.get(`taskwire_tasks_submitted_total{kind="${kind}"}`)).toBe(of.length);
      for (const status of ['succeeded', 'failed', 'cancelled', 'expired']) {
        const n = of.filter((t) => t.status === status).length;
        expect(s.get(`taskwire_tasks_finished_total{kind="${kind}",status="${status}"}`) ?? 0, `${kind} ${status}`).toBe(n);
      }
      const dead = of.filter((t) => t.status === 'failed' || t.status === 'expired').length;
      const deadSeries = [...s].filter(([k]) => k.startsWith(`taskwire_task_dead_letters_total{kind="${kind}",`)).reduce((a, [, v]) => a + v, 0);
      expect(deadSeries).toBe(dead);
    }
  });

  it('has the run time, queue wait and dispatch buckets of the records: cumulative, +Inf = _count, _sum', async () => {
    const s = samples(await (await fetch(`${c.httpUrl}/metrics`)).text());
    const records = ids.map((id) => finalOf(id)!);
    const queuedSince = (t: TaskRecord) => t.history.find((h) => h.status === 'queued')!.atMs; // one attempt each
    const families: { name: string; value: (t: TaskRecord) => number | null; bounds: number[] }[] = [
      { name: 'taskwire_task_run_seconds', value: (t) => (t.startedAtMs === null || t.finishedAtMs === null ? null : (t.finishedAtMs - t.startedAtMs) / 1000), bounds: BOUNDS },
      { name: 'taskwire_task_queue_wait_seconds', value: (t) => (t.startedAtMs === null ? null : (t.startedAtMs - t.createdAtMs) / 1000), bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120] },
      { name: 'taskwire_task_dispatch_seconds', value: (t) => (t.assignedAtMs === null ? null : Math.max(0, t.assignedAtMs - queuedSince(t)) / 1000), bounds: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 120] },
    ];
    for (const f of families) {
      for (const kind of ['echo', 'sleep']) {
        const values = records.filter((t) => t.kind === kind).map(f.value).filter((v): v is number => v !== null);
        expect(values.length, `${f.name} ${kind}`).toBeGreaterThan(0);
        let last = 0;
        for (const le of f.bounds) {
          const got = s.get(`${f.name}_bucket{le="${le}",kind="${kind}"}`)!;
          expect(got, `${f.name} ${kind} le=${le}`).toBe(values.filter((v) => v <= le).length);
          expect(got).toBeGreaterThanOrEqual(last);
          last = got;
        }
        expect(s.get(`${f.name}_bucket{le="+Inf",kind="${kind}"}`)).toBe(values.length);
        expect(s.get(`${f.name}_count{kind="${kind}"}`)).toBe(values.length);
        expect(s.get(`${f.name}_sum{kind="${kind}"}`)).toBeCloseTo(values.reduce((a, v) => a + v, 0), 9);
      }
    }
    // Spread over the buckets, not all in one: the sleeps' run times reach past 0.1 s, and some are under 0.05 s.
    expect(s.get('taskwire_task_run_seconds_bucket{le="0.05",kind="sleep"}')).toBeGreaterThan(0);
    expect(s.get('taskwire_task_run_seconds_bucket{le="0.1",kind="sleep"}')).toBeLessThan(s.get('taskwire_task_run_seconds_count{kind="sleep"}')!);
  });
});
