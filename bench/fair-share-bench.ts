/**
 * `npm run bench -- fair`: weighted-fair dispatch across tenants. The real
 * TaskQueue (master/core/task-queue.ts) with and without the FairShare order
 * (master/limits/fair-share.ts), driven by a discrete-event simulation on a
 * virtual clock (no wall-clock noise): SLOTS worker slots, each task runs
 * SERVICE_MS; tenant "small" submits bursts of BURST tasks every
 * BURST_EVERY_MS; tenant "big" dumps a backlog of 100,000 tasks at t = 0.
 * Prints small's p50 / p95 / max queue wait alone, with big's backlog in
 * FIFO order, and with the backlog under fair sharing (equal weights, and
 * small weighted 3).
 */
import { TaskQueue, type QueuedTask } from '../master/core/task-queue.js';
import { FairShare } from '../master/limits/fair-share.js';
import { fmt, percentile } from './stats.js';

type SimTask = QueuedTask & { tenant: string; arrivedMs: number };

const SLOTS = 8;
const SERVICE_MS = 2;
const BURST = 16;
const BURST_EVERY_MS = 10;

export interface FairShareCase {
  name: string;
  small_tasks: number;
  small_p50_ms: number;
  small_p95_ms: number;
  small_max_ms: number;
}

export interface FairShareBenchResult {
  backlog: number;
  slots: number;
  service_ms: number;
  cases: FairShareCase[];
}

function simulate(name: string, backlog: number, order: 'fifo' | { small: number }, durationMs: number): FairShareCase {
  const q = new TaskQueue<SimTask>();
  if (order !== 'fifo') q.useOrder(new FairShare<SimTask>((t) => t.tenant, new Map([['small', order.small]])));
  let seq = 0;
  const push = (tenant: string, at: number) => q.push({ id: `t${++seq}`, key: 'echo', priority: 0, seq, tenant, arrivedMs: at });
  for (let i = 0; i < backlog; i++) push('big', 0);
  const free: number[] = Array(SLOTS).fill(0); // when each slot is free
  const waits: number[] = [];
  let nextBurst = 0;
  for (let now = 0; now <= durationMs; ) {
    while (nextBurst <= now && nextBurst <= durationMs) {
      for (let i = 0; i < BURST; i++) push('small', nextBurst);
      nextBurst += BURST_EVERY_MS;
    }
    for (let s = 0; s < SLOTS; s++) {
      if (free[s]! > now) continue;
      const t = q.best();
      if (!t) break;
      q.take(t.key);
      if (t.tenant === 'small') waits.push(now - t.arrivedMs);
      free[s] = now + SERVICE_MS;
    }
    now = Math.min(nextBurst, ...free.map((f) => (f > now ? f : Infinity)));
    if (!Number.isFinite(now)) break;
  }
  const s = waits.sort((a, b) => a - b);
  return { name, small_tasks: s.length, small_p50_ms: percentile(s, 50), small_p95_ms: percentile(s, 95), small_max_ms: s.at(-1) ?? NaN };
}

export function runFairShareBench({ quick = false } = {}): FairShareBenchResult {
  const backlog = 100_000;
  const durationMs = quick ? 6_000 : 30_000; // the backlog alone keeps the cluster busy 25 s
  return {
    backlog,
    slots: SLOTS,
    service_ms: SERVICE_MS,
    cases: [
      simulate('small alone', 0, 'fifo', durationMs),
      simulate('with 100k backlog, FIFO', backlog, 'fifo', durationMs),
      simulate('with 100k backlog, fair (1:1)', backlog, { small: 1 }, durationMs),
      simulate('with 100k backlog, fair (small 3:1)', backlog, { small: 3 }, durationMs),
    ],
  };
}

export function printFairShareBench(r: FairShareBenchResult): void {
  console.log(`\nfair sharing: ${r.slots} slots x ${r.service_ms} ms tasks; tenant small: ${BURST} tasks every ${BURST_EVERY_MS} ms; tenant big: ${r.backlog} queued at t=0 (virtual clock)`);
  console.log('case                                   tasks   p50 ms   p95 ms   max ms');
  for (const c of r.cases) if (c.small_tasks === 0) console.log(`${c.name.padEnd(38)}      0   (none of small's tasks started within the run)`);
  else console.log(`${c.name.padEnd(38)} ${String(c.small_tasks).padStart(6)} ${fmt(c.small_p50_ms, 1).padStart(8)} ${fmt(c.small_p95_ms, 1).padStart(8)} ${fmt(c.small_max_ms, 1).padStart(8)}`);
  const alone = r.cases[0]!.small_p95_ms;
  const ratio = (c: FairShareCase) => (alone > 0 ? `${fmt(c.small_p95_ms / alone, 2)}x` : '-');
  console.log(`small's p95 with the backlog vs alone (${fmt(alone, 1)} ms): FIFO ${ratio(r.cases[1]!)}, fair 1:1 ${ratio(r.cases[2]!)}, fair 3:1 ${ratio(r.cases[3]!)}`);
}
