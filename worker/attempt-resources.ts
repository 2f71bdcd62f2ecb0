/**
 * What each attempt of the TypeScript worker costs in CPU and memory, for the
 * usage ledger (Usage.cpu_us, Usage.mem_mib_ms; docs/PROTOCOL.md §7.5).
 *
 * Attempts share one process (and its threads: libvips, ONNX Runtime, worker
 * threads all count in process.cpuUsage()), so CPU time cannot be told apart
 * per attempt. The meter divides it instead: between two samples, the
 * process's CPU time (user + system, every thread) goes in equal shares to
 * the attempts running then. An attempt's `cpu_us` is the sum of its shares
 * from its start to its end; the `cpu_us` of all attempts add up to the
 * process's CPU time while at least one ran (the worker's own MQTT, gRPC and
 * GC work in those spans included; nothing while it is idle). `mem_mib_ms` is
 * the same for memory: the resident set size (MiB) times the time (ms),
 * divided among the attempts running.
 *
 * Samples are taken when an attempt begins or ends and on the runner's sweep
 * (every 100 ms while anything runs). process.cpuUsage() is read at each
 * sample (~1 µs); the resident set size (process.memoryUsage.rss(), a read of
 * /proc on Linux, ~8 µs) at most every RSS_EVERY_MS, the last value standing
 * in between.
 */

/** The RSS is read again when the last reading is older than this. */
const RSS_EVERY_MS = 10;
const MIB = 1024 * 1024;

/** The meter's running sums when an attempt began. */
export interface ResourceMark {
  readonly cpu: number;
  readonly mem: number;
}

export interface AttemptResourceUse {
  /** CPU time, microseconds (integer). */
  cpu_us: number;
  /** Resident memory × time, MiB·ms (integer). */
  mem_mib_ms: number;
}

/** Reads the process; a plain object in unit tests. */
export interface ProcessGauges {
  /** User + system CPU time of the process, microseconds. */
  cpuUs(): number;
  /** Resident set size, bytes. */
  rssBytes(): number;
  /** A monotonic clock, ms. */
  nowMs(): number;
}

export const PROCESS_GAUGES: ProcessGauges = {
  cpuUs: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  rssBytes: () => process.memoryUsage.rss(),
  nowMs: () => performance.now(),
};

export class AttemptResources {
  private running = 0;
  private lastCpuUs: number;
  private lastAtMs: number;
  private rssMib: number;
  private rssAtMs: number;
  /** CPU µs and MiB·ms per running attempt, summed since the meter began. */
  private cpuShare = 0;
  private memShare = 0;

  constructor(private readonly gauges: ProcessGauges = PROCESS_GAUGES) {
    this.lastCpuUs = gauges.cpuUs();
    this.lastAtMs = gauges.nowMs();
    this.rssMib = gauges.rssBytes() / MIB;
    this.rssAtMs = this.lastAtMs;
  }

  /** Shares out what the process used since the last sample among the attempts running. */
  sample(): void {
    const cpu = this.gauges.cpuUs();
    const now = this.gauges.nowMs();
    if (now - this.rssAtMs >= RSS_EVERY_MS) {
      this.rssMib = this.gauges.rssBytes() / MIB;
      this.rssAtMs = now;
    }
    if (this.running > 0) {
      this.cpuShare += Math.max(0, cpu - this.lastCpuUs) / this.running;
      this.memShare += (this.rssMib * Math.max(0, now - this.lastAtMs)) / this.running;
    }
    this.lastCpuUs = cpu;
    this.lastAtMs = now;
  }

  /** An attempt begins: its mark for end(). */
  begin(): ResourceMark {
    this.sample();
    this.running++;
    return { cpu: this.cpuShare, mem: this.memShare };
  }

  /** The attempt begun at `mark` ends: its shares since then. Once per begin(). */
  end(mark: ResourceMark): AttemptResourceUse {
    this.sample();
    this.running = Math.max(0, this.running - 1);
    return { cpu_us: Math.round(this.cpuShare - mark.cpu), mem_mib_ms: Math.round(this.memShare - mark.mem) };
  }

  /** Attempts between begin() and end(). */
  get size(): number {
    return this.running;
  }
}
