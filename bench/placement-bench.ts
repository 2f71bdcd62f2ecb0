/**
 * `npm run bench -- placement`: every placement strategy side by side in a
 * discrete-event simulation of 1,000 workers of mixed speeds (0.5x, 1x, 2x)
 * and capacities (1, 4, 8) under 80% load (Poisson arrivals, exponential
 * run times), one FIFO queue. The strategies are the master's own classes;
 * only time is simulated. Prints pick cost per task (wall clock of pick()),
 * max/mean utilisation across workers, and queue wait p50/p99.
 */
import { createPlacement, placementNames } from '../master/scheduling/placement/placement-registry.js';
import type { PlacementCandidate, PlacementStrategy } from '../master/scheduling/placement/placement-strategy.js';
import { LeastLatency } from '../master/scheduling/placement/least-latency.js';
import type { WorkerStatus__Output } from '../common/wire.js';
import { fmt, median, percentile } from './stats.js';

interface SimWorker extends PlacementCandidate {
  inFlight: Set<string>;
  speed: number;
}

export interface PlacementBenchRow {
  strategy: string;
  load: number;
  tasks: number;
  pick_p50_us: number;
  pick_p99_us: number;
  max_over_mean: number;
  wait_p50_ms: number;
  wait_p99_ms: number;
  /** Submit to finish (queue wait + run time on the chosen worker). */
  total_p50_ms: number;
  total_p99_ms: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A min-heap of completion events by time. */
class Events {
  private t: number[] = [];
  private w: SimWorker[] = [];
  private id: string[] = [];
  get size(): number {
    return this.t.length;
  }
  push(time: number, worker: SimWorker, task: string): void {
    let i = this.t.length;
    this.t.push(time);
    this.w.push(worker);
    this.id.push(task);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.t[p]! <= time) break;
      this.swap(i, p);
      i = p;
    }
  }
  peekTime(): number {
    return this.t[0] ?? Infinity;
  }
  pop(): { time: number; worker: SimWorker; task: string } {
    const out = { time: this.t[0]!, worker: this.w[0]!, task: this.id[0]! };
    const last = this.t.length - 1;
    this.swap(0, last);
    this.t.pop();
    this.w.pop();
    this.id.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.t.length && this.t[l]! < this.t[m]!) m = l;
      if (r < this.t.length && this.t[r]! < this.t[m]!) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return out;
  }
  private swap(a: number, b: number): void {
    [this.t[a], this.t[b]] = [this.t[b]!, this.t[a]!];
    [this.w[a], this.w[b]] = [this.w[b]!, this.w[a]!];
    [this.id[a], this.id[b]] = [this.id[b]!, this.id[a]!];
  }
}

export function simulate(name: string, opts: { workers: number; tasks: number; load: number; seed: number }): PlacementBenchRow {
  const random = rng(opts.seed);
  const speeds = [0.5, 1, 2];
  const caps = [1, 4, 8];
  const workers: SimWorker[] = Array.from({ length: opts.workers }, (_, i) => {
    const speed = speeds[i % 3]!;
    const capacity = caps[Math.floor(i / 3) % 3]!;
    return {
      id: `w-${i}`,
      capacity,
      speed,
      inFlight: new Set<string>(),
      // weighted reads its weight from labels: give it the speed x capacity it would be configured with
      status: { worker_id: `w-${i}`, labels: { weight: String(speed * capacity) }, load: null } as unknown as WorkerStatus__Output,
    };
  });
  let now = 0;
  // least-latency decays its averages by the clock: give it the simulated one
  const strategy: PlacementStrategy = name === 'least-latency' ? new LeastLatency({ decayMs: 10_000 }, Math.random, () => now) : createPlacement(name);
  const meanRunMs = 100;
  const serviceRate = workers.reduce((a, w) => a + (w.capacity * w.speed) / meanRunMs, 0); // tasks per ms
  const arrivalRate = opts.load * serviceRate;
  const eligible = (w: SimWorker) => w.inFlight.size < w.capacity;
  const events = new Events();
  const queue: { id: string; at: number; key: string }[] = [];
  let qHead = 0;
  const picks: number[] = [];
  const waits: number[] = [];
  const sojourn: number[] = [];
  const ratios: number[] = [];
  let nextArrival = 0;
  let arrived = 0;

  const start = (task: { id: string; at: number; key: string }): boolean => {
    const t0 = performance.now();
    const w = strategy.pick({ candidates: workers, requirement: { kind: 'echo' }, eligible, key: task.key });
    picks.push((performance.now() - t0) * 1000);
    if (!w) return false;
    w.inFlight.add(task.id);
    waits.push(now - task.at);
    const run = (-Math.log(1 - random()) * meanRunMs) / w.speed;
    sojourn.push(now - task.at + run);
    events.push(now + run, w, task.id);
    return true;
  };

  while (arrived < opts.tasks || events.size > 0) {
    const arrivalDue = arrived < opts.tasks ? nextArrival : Infinity;
    if (events.peekTime() <= arrivalDue) {
      const ev = events.pop();
      now = ev.time;
      ev.worker.inFlight.delete(ev.task);
      strategy.observe?.({ workerId: ev.worker.id, runMs: (-Math.log(1 - random()) * meanRunMs) / ev.worker.speed, atMs: now });
      while (qHead < queue.length && start(queue[qHead]!)) qHead++;
    } else {
      now = arrivalDue;
      const task = { id: `t-${arrived}`, at: now, key: `s-${arrived % 5000}` };
      arrived++;
      nextArrival = now - Math.log(1 - random()) / arrivalRate;
      if (qHead < queue.length || !start(task)) queue.push(task);
      if (arrived % 2000 === 0 && arrived > opts.tasks / 10) {
        const util = workers.map((w) => w.inFlight.size / w.capacity);
        const mean = util.reduce((a, b) => a + b, 0) / util.length;
        if (mean > 0) ratios.push(Math.max(...util) / mean);
      }
    }
  }
  const sp = [...picks].sort((a, b) => a - b);
  const sw = [...waits].sort((a, b) => a - b);
  const st = [...sojourn].sort((a, b) => a - b);
  return {
    strategy: name,
    load: opts.load,
    tasks: opts.tasks,
    pick_p50_us: percentile(sp, 50),
    pick_p99_us: percentile(sp, 99),
    max_over_mean: median(ratios),
    wait_p50_ms: percentile(sw, 50),
    wait_p99_ms: percentile(sw, 99),
    total_p50_ms: percentile(st, 50),
    total_p99_ms: percentile(st, 99),
  };
}

export function runPlacementBench(opts: { quick?: boolean } = {}): PlacementBenchRow[] {
  const tasks = opts.quick ? 20_000 : 200_000;
  return placementNames().flatMap((name) => [0.8, 0.97].map((load) => simulate(name, { workers: 1000, tasks, load, seed: 11 })));
}

export function printPlacementBench(rows: PlacementBenchRow[]): void {
  console.log('\n## placement: 1,000 simulated workers (speeds 0.5/1/2x, capacities 1/4/8), mean run 100 ms at 1x');
  console.log('| strategy | load | pick p50 µs | pick p99 µs (target < 20) | max/mean utilisation | queue wait p50 / p99 ms | submit to finish p50 / p99 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.strategy} | ${fmt(r.load * 100, 0)}% | ${fmt(r.pick_p50_us)} | ${fmt(r.pick_p99_us)} | ${fmt(r.max_over_mean)} | ${fmt(r.wait_p50_ms)} / ${fmt(r.wait_p99_ms)} | ${fmt(r.total_p50_ms, 0)} / ${fmt(r.total_p99_ms, 0)} |`);
  }
}
