/**
 * `npm run bench -- eta`: how good the queue-wait estimate is. A real master
 * and two in-process workers (capacity 2 each) run sleep tasks of mixed
 * lengths submitted in bursts; for every task the ETA predicted right after
 * its submit (GET /api/v1/tasks/:id's `eta_ms`, from TaskService.standing)
 * is compared with when it actually started (the `task.started` event).
 */
import { Master } from '../master/master.js';
import { Worker } from '../worker/worker.js';
import { silentLogger } from '../common/logger.js';
import { fmt, median, percentile } from './stats.js';

export interface EtaBenchResult {
  tasks: number;
  run_ms_mix: number[];
  median_abs_error_ms: number;
  p90_abs_error_ms: number;
  median_actual_wait_ms: number;
  p90_actual_wait_ms: number;
  /** Median of |error| / max(actual, 100 ms). */
  median_relative_error: number;
}

const MIX = [50, 150, 400];

export async function runEtaBench({ quick = false } = {}): Promise<EtaBenchResult> {
  const master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn', masterId: `eta-bench-${process.pid}` },
    { logger: { logger: silentLogger() } },
  );
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const id = `eta-bench-w${i}-${process.pid}`;
      workers.push(
        await Worker.create(
          { workerId: id, mqttUrl: master.mqttUrl, mqttPassword: master.clusterToken, capacity: 2, logToStdout: false, healthFile: `/tmp/${id}.health` },
          { logger: { logger: silentLogger() } },
        ),
      );
    }
    const until = Date.now() + 10_000;
    while (master.registry.schedulable().length < 2) {
      if (Date.now() > until) throw new Error('eta bench: workers did not come online');
      await new Promise((r) => setTimeout(r, 20));
    }
    let rnd = 7;
    const nextMs = () => MIX[(rnd = (rnd * 1103515245 + 12345) % 2 ** 31) % MIX.length]!;
    const started = new Map<string, number>();
    const finished = new Set<string>();
    master.tasks.events.on('task.started', (e) => {
      if (!started.has(e.task_id)) started.set(e.task_id, e.ts);
    });
    master.tasks.events.on(['task.succeeded', 'task.failed', 'task.expired', 'task.cancelled'], (e) => finished.add(e.task_id));
    const submit = async () => (await master.tasks.submit({ kind: 'sleep', input: { ms: nextMs() } })).task;
    // Warm-up: the estimator learns the mix.
    const warm = await Promise.all(Array.from({ length: 12 }, submit));
    while (!warm.every((t) => finished.has(t.id))) await new Promise((r) => setTimeout(r, 20));

    const predicted = new Map<string, { at: number; eta: number }>();
    const bursts = quick ? 4 : 10;
    const perBurst = 12;
    for (let b = 0; b < bursts; b++) {
      for (let i = 0; i < perBurst; i++) {
        const t = await submit();
        const s = master.tasks.standing(t.id);
        // Started already (a free slot): predicted 0.
        predicted.set(t.id, { at: t.createdAtMs, eta: s?.etaMs ?? 0 });
      }
      await new Promise((r) => setTimeout(r, 700));
    }
    while (![...predicted.keys()].every((id) => finished.has(id))) await new Promise((r) => setTimeout(r, 20));
    const errors: number[] = [];
    const rel: number[] = [];
    const actual: number[] = [];
    for (const [id, p] of predicted) {
      const s = started.get(id);
      if (s === undefined) continue;
      const wait = s - p.at;
      actual.push(wait);
      errors.push(Math.abs(p.eta - wait));
      rel.push(Math.abs(p.eta - wait) / Math.max(wait, 100));
    }
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    return {
      tasks: errors.length,
      run_ms_mix: MIX,
      median_abs_error_ms: median(errors),
      p90_abs_error_ms: percentile(sorted(errors), 90),
      median_actual_wait_ms: median(actual),
      p90_actual_wait_ms: percentile(sorted(actual), 90),
      median_relative_error: median(rel),
    };
  } finally {
    await Promise.allSettled(workers.map((w) => w.close(0)));
    await master.close();
  }
}

export function printEtaBench(r: EtaBenchResult): void {
  console.log('\n## Queue-wait estimate (eta_ms) vs actual start');
  console.log(`${r.tasks} sleep tasks of ${r.run_ms_mix.join('/')} ms, in bursts, on 2 workers x capacity 2`);
  console.log('| median abs error | p90 abs error | median actual wait | p90 actual wait | median relative error |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| ${fmt(r.median_abs_error_ms, 0)} ms | ${fmt(r.p90_abs_error_ms, 0)} ms | ${fmt(r.median_actual_wait_ms, 0)} ms | ${fmt(r.p90_actual_wait_ms, 0)} ms | ${fmt(r.median_relative_error * 100, 0)} % |`,
  );
}
