/**
 * What the overhead bench's cluster runs cannot resolve on a 2-core machine
 * (a run's CPU per task moves by more than 1% with the neighbours): the CPU
 * the worker's metrics and the usage metrics add per task, measured alone,
 * recording on and off in alternating runs of the same process, medians.
 *
 * - worker: what a TypeScript worker with metrics does per attempt besides
 *   running it (worker.ts and task-runner.ts): the running count set twice
 *   (start, end), the attempt's telemetry begun and ended (untraced), the
 *   attempt recorded (kind, outcome, handler time), into a real WorkerMetrics;
 *   off: what a worker without metrics does (nothing: `metrics?.` and
 *   `telemetry?.` are undefined);
 * - usage: the ledger's rows (the real rows the master just wrote, or echo-like
 *   rows) handed to the usage metrics' listener on a fresh registry; off: a
 *   listener that does nothing.
 */
import { Registry } from 'prom-client';
import { usageMetricsRecorder } from '../master/billing/usage-metrics.js';
import type { UsageRow } from '../master/billing/usage-row.js';
import { WorkerTelemetry } from '../worker/attempt-telemetry.js';
import { WorkerMetrics } from '../worker/metrics-registry.js';
import type { TaskAssignment__Output } from '../common/wire.js';

export interface OnOff {
  on: number[];
  off: number[];
}

/** CPU ns per item of `step(i, on)` run `perRun` times per run, on and off alternately (neither always first). */
function alternate(perRun: number, runs: number, step: (i: number, on: boolean) => void): OnOff {
  const run = (on: boolean) => {
    for (let i = 0; i < perRun; i++) step(i, on);
  };
  run(true); // JIT, both ways
  run(false);
  const out: OnOff = { on: [], off: [] };
  for (let r = 0; r < runs * 2; r++) {
    const on = r % 2 === Math.floor(r / 2) % 2;
    const c0 = process.cpuUsage();
    run(on);
    const c = process.cpuUsage(c0);
    (on ? out.on : out.off).push(((c.user + c.system) * 1000) / perRun);
  }
  return out;
}

/** The worker's per-attempt metric recording (see the header), CPU ns per attempt. */
export function workerRecordingCost(perRun: number, runs: number): OnOff {
  const metrics = new WorkerMetrics({ worker_id: 'bench-recording' });
  const telemetry = new WorkerTelemetry('bench-recording', metrics, undefined);
  const a = { task_id: 'bench', attempt: 1, kind: 'echo', traceparent: '' } as TaskAssignment__Output;
  const none: { m: WorkerMetrics | undefined; t: WorkerTelemetry | undefined } = { m: undefined, t: undefined };
  const some = { m: metrics, t: telemetry };
  return alternate(perRun, runs, (i, on) => {
    const w = on ? some : none;
    w.m?.setRunning(1);
    const t = w.t?.begin(a, i);
    w.m?.attempt('echo', 'succeeded', (i % 97) / 1e5, undefined);
    t?.end('succeeded', undefined);
    w.m?.setRunning(0);
  });
}

/** The usage metrics' recording per ledger row (see the header), CPU ns per row. */
export function usageRecordingCost(rows: readonly UsageRow[], perRun: number, runs: number): OnOff {
  const rec = rows.length > 0 ? rows : echoRows(1000);
  const record = usageMetricsRecorder(new Registry());
  const nothing = (_r: UsageRow): void => {};
  return alternate(perRun, runs, (i, on) => (on ? record : nothing)(rec[i % rec.length]!));
}

/** Rows as an echo attempt's, priced (cost and processing time set: every counter but tokens moves). */
function echoRows(n: number): UsageRow[] {
  const out: UsageRow[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      task_id: `t${i}`, attempt: 1, tenant: 'default', key: 'local', kind: 'echo', model: null, worker_id: 'w', outcome: 'succeeded',
      tokens_in: 0, tokens_out: 0, processing_ms: 0.3, cpu_us: 20, mem_mib_ms: 0, images: 0, megapixels: 0,
      bytes_in: 20, bytes_out: 20, at_ms: i, cost: 0.00001, price_version: 1,
    });
  }
  return out;
}
