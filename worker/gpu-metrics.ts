/**
 * GPU utilisation and memory from `nvidia-smi`, only where it exists on PATH
 * (no GPU, no nvidia-smi: no gauges at all, never zeros that look like an
 * idle GPU). Read on the worker's status timer with a 2 s timeout; a failing
 * read leaves the last values and is retried next time.
 *
 *   taskwire_worker_gpu_utilization_ratio{gpu}     0..1
 *   taskwire_worker_gpu_memory_used_bytes{gpu}
 *   taskwire_worker_gpu_memory_total_bytes{gpu}
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';

export interface GpuReading {
  index: string;
  utilization: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
}

const MIB = 1024 * 1024;
const QUERY = ['--query-gpu=index,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'];

/** Parses `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits` (MiB, percent). */
export function parseNvidiaSmi(text: string): GpuReading[] {
  const out: GpuReading[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(',').map((x) => x.trim());
    if (f.length < 4 || !/^\d+$/.test(f[0]!)) continue;
    const [util, used, total] = [Number(f[1]), Number(f[2]), Number(f[3])];
    // "[N/A]" or "[Not Supported]" fields: leave that GPU out rather than report a made-up value.
    if (![util, used, total].every(Number.isFinite)) continue;
    out.push({ index: f[0]!, utilization: util / 100, memoryUsedBytes: used * MIB, memoryTotalBytes: total * MIB });
  }
  return out;
}

/** The path of an executable on PATH, or undefined. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class GpuMetrics {
  private readonly util: Gauge;
  private readonly used: Gauge;
  private readonly total: Gauge;
  private reading = false;

  private constructor(
    private readonly bin: string,
    registry: Registry,
  ) {
    this.util = new Gauge({ name: 'taskwire_worker_gpu_utilization_ratio', help: 'GPU utilisation (nvidia-smi), 0..1', labelNames: ['gpu'], registers: [registry] });
    this.used = new Gauge({ name: 'taskwire_worker_gpu_memory_used_bytes', help: 'GPU memory in use (nvidia-smi)', labelNames: ['gpu'], registers: [registry] });
    this.total = new Gauge({ name: 'taskwire_worker_gpu_memory_total_bytes', help: 'GPU memory in all (nvidia-smi)', labelNames: ['gpu'], registers: [registry] });
  }

  /** Gauges on the registry when nvidia-smi is on PATH; undefined (and nothing registered) otherwise. */
  static detect(registry: Registry, path?: string): GpuMetrics | undefined {
    const bin = findOnPath('nvidia-smi', path);
    return bin ? new GpuMetrics(bin, registry) : undefined;
  }

  /** Reads nvidia-smi once; resolves when done (never rejects). */
  refresh(): Promise<void> {
    if (this.reading) return Promise.resolve();
    this.reading = true;
    return new Promise((resolve) => {
      execFile(this.bin, QUERY, { timeout: 2000, maxBuffer: 64 * 1024 }, (err, stdout) => {
        this.reading = false;
        if (!err) {
          for (const g of parseNvidiaSmi(String(stdout))) {
            this.util.set({ gpu: g.index }, g.utilization);
            this.used.set({ gpu: g.index }, g.memoryUsedBytes);
            this.total.set({ gpu: g.index }, g.memoryTotalBytes);
          }
        }
        resolve();
      });
    });
  }
}
