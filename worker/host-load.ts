/**
 * What the worker's host is busy with, for WorkerStatus.load (read by the
 * master's `least-load` placement): CPU as the 1-minute load average per
 * core, memory as the share in use, both capped to [0, 1]. No GPU reading
 * without a GPU runtime (left out, as the protocol allows).
 */
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { WorkerLoad } from '../common/gen/taskwire/v1/WorkerLoad.js';

const clamp = (v: number) => (Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : 0);

export function hostLoad(): WorkerLoad {
  const cores = Math.max(cpus().length, 1);
  return { cpu: clamp((loadavg()[0] ?? 0) / cores), memory: clamp(1 - freemem() / Math.max(totalmem(), 1)) };
}
