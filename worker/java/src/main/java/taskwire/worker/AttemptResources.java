package taskwire.worker;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * What each attempt costs in CPU and memory, for the usage ledger (Usage.cpu_us,
 * Usage.mem_mib_ms; docs/PROTOCOL.md section 7.5), by the rule of the TypeScript
 * worker's worker/attempt-resources.ts.
 *
 * <p>Attempts share one JVM (a thread each, plus gRPC, MQTT, GC and JIT threads), so CPU
 * time cannot be told apart per attempt. Between two samples, the process's CPU time (user +
 * system, every thread) goes in equal shares to the attempts running then; an attempt's
 * cpu_us is the sum of its shares from its start to its end, and nothing is counted while
 * none runs. mem_mib_ms is the same with the resident set size (MiB) times the elapsed time
 * (ms).
 *
 * <p>Samples are taken when an attempt begins or ends and every {@link #SWEEP_MS} ms while
 * any runs (a timer armed by the first attempt and cancelled by the last). A sample reads
 * getProcessCpuTime() (the times() system call on Linux, in clock ticks: 10 ms steps) and, at
 * most every {@link #RSS_EVERY_MS} ms, /proc/self/statm (one pread on a file kept open).
 */
final class AttemptResources {
  static final long SWEEP_MS = 100;
  /** The RSS is read again when the last reading is older than this. */
  static final double RSS_EVERY_MS = 10;
  private static final double MIB = 1024.0 * 1024.0;

  /** Reads the process; a plain object in unit tests. */
  interface Gauges {
    /** User + system CPU time of the process (every thread), microseconds; 0 when unknown. */
    long cpuUs();

    /** Resident set size, bytes; 0 when unknown. */
    long rssBytes();

    /** A monotonic clock, ms. */
    double nowMs();
  }

  /** The meter's running sums when an attempt began (for {@link #end}). */
  static final class Mark {
    final double cpu;
    final double mem;

    Mark(double cpu, double mem) {
      this.cpu = cpu;
      this.mem = mem;
    }
  }

  /** One attempt's shares: CPU microseconds and MiB x ms, whole numbers. */
  static final class Use {
    final long cpuUs;
    final long memMibMs;

    Use(long cpuUs, long memMibMs) {
      this.cpuUs = cpuUs;
      this.memMibMs = memMibMs;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Use && ((Use) o).cpuUs == cpuUs && ((Use) o).memMibMs == memMibMs;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(cpuUs) * 31 + Long.hashCode(memMibMs);
    }

    @Override
    public String toString() {
      return "cpu_us=" + cpuUs + " mem_mib_ms=" + memMibMs;
    }
  }

  /** This JVM: the CPU time from the platform MXBean, the RSS from /proc/self/statm (Linux). */
  static final Gauges PROCESS = new ProcessGauges();

  private final Gauges gauges;
  private final ScheduledExecutorService timers;
  private ScheduledFuture<?> sweep;
  private int running;
  private long lastCpuUs;
  private double lastAtMs;
  private double rssMib;
  private double rssAtMs;
  /** CPU us and MiB x ms per running attempt, summed since the meter began. */
  private double cpuShare;
  private double memShare;

  /** timers: runs the sweep while attempts run (null: samples only at begin and end, as in unit tests). */
  AttemptResources(Gauges gauges, ScheduledExecutorService timers) {
    this.gauges = gauges;
    this.timers = timers;
    this.lastCpuUs = gauges.cpuUs();
    this.lastAtMs = gauges.nowMs();
    this.rssMib = gauges.rssBytes() / MIB;
    this.rssAtMs = lastAtMs;
  }

  /** Shares out what the process used since the last sample among the attempts running. */
  synchronized void sample() {
    long cpu = gauges.cpuUs();
    double now = gauges.nowMs();
    if (now - rssAtMs >= RSS_EVERY_MS) {
      rssMib = gauges.rssBytes() / MIB;
      rssAtMs = now;
    }
    if (running > 0) {
      cpuShare += Math.max(0, cpu - lastCpuUs) / (double) running;
      memShare += rssMib * Math.max(0, now - lastAtMs) / running;
    }
    lastCpuUs = cpu;
    lastAtMs = now;
  }

  /** An attempt begins: its mark for end(). */
  synchronized Mark begin() {
    sample();
    running++;
    if (running == 1 && timers != null) {
      sweep = timers.scheduleAtFixedRate(this::sample, SWEEP_MS, SWEEP_MS, TimeUnit.MILLISECONDS);
    }
    return new Mark(cpuShare, memShare);
  }

  /** The attempt begun at mark ends: its shares since then. Once per begin(). */
  synchronized Use end(Mark mark) {
    sample();
    running = Math.max(0, running - 1);
    if (running == 0 && sweep != null) {
      sweep.cancel(false);
      sweep = null;
    }
    return new Use(Math.round(cpuShare - mark.cpu), Math.round(memShare - mark.mem));
  }

  /** Attempts between begin() and end(). */
  synchronized int size() {
    return running;
  }

  private static final class ProcessGauges implements Gauges {
    /** Linux pages; the JVM has no page size API. */
    private static final long PAGE = 4096;
    private final com.sun.management.OperatingSystemMXBean os;
    private final ByteBuffer buf = ByteBuffer.allocate(256);
    private FileChannel statm;
    private boolean noStatm;

    ProcessGauges() {
      java.lang.management.OperatingSystemMXBean b = ManagementFactory.getOperatingSystemMXBean();
      os = b instanceof com.sun.management.OperatingSystemMXBean ? (com.sun.management.OperatingSystemMXBean) b : null;
    }

    @Override
    public long cpuUs() {
      if (os == null) return 0;
      long ns = os.getProcessCpuTime();
      return ns < 0 ? 0 : ns / 1000;
    }

    /** The second field of /proc/self/statm (resident pages) times the page size. */
    @Override
    public synchronized long rssBytes() {
      if (noStatm) return 0;
      try {
        if (statm == null) statm = FileChannel.open(Path.of("/proc/self/statm"));
        buf.clear();
        statm.read(buf, 0);
        int i = 0;
        int n = buf.position();
        while (i < n && buf.get(i) != ' ') i++; // the first field: total program size
        long pages = 0;
        for (i++; i < n && buf.get(i) >= '0' && buf.get(i) <= '9'; i++) pages = pages * 10 + (buf.get(i) - '0');
        return pages * PAGE;
      } catch (IOException | RuntimeException e) {
        noStatm = true; // not Linux: no resident memory
        return 0;
      }
    }

    @Override
    public double nowMs() {
      return System.nanoTime() / 1e6;
    }
  }
}
