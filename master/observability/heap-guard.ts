/**
 * Collects the garbage of big payloads early. Inputs and results of a few
 * MiB are V8 large objects; under a flood of them the master made ~8 MiB of
 * such garbage per task (request bodies, parsed input, the MQTT assignment,
 * the decoded result, the rows handed to the writer thread, answers), and V8
 * let it pile up to hundreds of MiB before a full collection, far past what
 * the payload budgets hold live. When the large-object space exceeds what
 * the budgets can keep alive, this starts a full collection (incremental,
 * at most once a second), so RSS follows the budgets and not the traffic.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

export interface HeapGuardOptions {
  /** Large-object bytes above which a collection starts (the payload budgets' live maximum). */
  largeObjectLimitBytes: number;
  intervalMs?: number;
  minGapMs?: number;
}

/** V8's gc() (exposed at run time when the process was started without --expose-gc). */
export function exposeGc(): Gc {
  const existing = (globalThis as { gc?: Gc }).gc;
  if (existing) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as Gc;
}

export class HeapGuard {
  private readonly timer: NodeJS.Timeout;
  private lastAt = 0;
  /** Collections this guard started (for tests and metrics). */
  collections = 0;

  constructor(o: HeapGuardOptions) {
    const gc = exposeGc();
    const minGap = o.minGapMs ?? 1000;
    this.timer = setInterval(() => {
      const lo = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'large_object_space');
      const now = performance.now();
      if (!lo || lo.space_used_size <= o.largeObjectLimitBytes || now - this.lastAt < minGap) return;
      this.lastAt = now;
      this.collections++;
      gc({ type: 'major', execution: 'async' });
    }, o.intervalMs ?? 200);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
