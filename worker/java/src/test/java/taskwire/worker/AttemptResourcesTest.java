package taskwire.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AttemptResourcesTest {
  private static final long MIB = 1024 * 1024;

  /** A process whose CPU time, RSS and clock the test sets. */
  private static final class FakeProcess implements AttemptResources.Gauges {
    long cpu;
    long rss = 100 * MIB;
    double now;

    @Override
    public long cpuUs() {
      return cpu;
    }

    @Override
    public long rssBytes() {
      return rss;
    }

    @Override
    public double nowMs() {
      return now;
    }
  }

  @Test
  void eachSpanGoesInEqualSharesToTheAttemptsRunningInIt() {
    FakeProcess p = new FakeProcess();
    AttemptResources meter = new AttemptResources(p, null);
    AttemptResources.Mark a = meter.begin();
    p.cpu += 1000; // a alone: 1000 us, 100 MiB for 10 ms
    p.now += 10;
    AttemptResources.Mark b = meter.begin();
    p.cpu += 3000; // a and b: 1500 us each; 200 MiB for 20 ms: 2000 MiB x ms each
    p.rss = 200 * MIB;
    p.now += 20;
    meter.sample(); // the sweep
    p.cpu += 600; // still both: 300 each, 200 MiB for 10 ms
    p.now += 10;
    assertEquals(new AttemptResources.Use(1000 + 1500 + 300, 1000 + 2000 + 1000), meter.end(a));
    p.cpu += 500; // b alone
    p.now += 5;
    assertEquals(new AttemptResources.Use(1500 + 300 + 500, 2000 + 1000 + 1000), meter.end(b));
    assertEquals(0, meter.size());
    p.cpu += 10_000; // idle: nobody's
    p.now += 100;
    AttemptResources.Mark c = meter.begin();
    assertEquals(new AttemptResources.Use(0, 0), meter.end(c));
  }

  @Test
  void theRssIsReadAtMostEvery10MsAndUnevenSharesRound() {
    FakeProcess p = new FakeProcess();
    AttemptResources meter = new AttemptResources(p, null);
    AttemptResources.Mark[] m = {meter.begin(), meter.begin(), meter.begin()};
    p.cpu += 1000; // three ways: 333.33 us each
    p.rss = 400 * MIB; // not read yet: 4 ms after the last reading
    p.now += 4;
    meter.sample(); // 100 MiB for 4 ms, three ways
    p.now += 6; // 10 ms since the reading: 400 MiB from here
    assertEquals(new AttemptResources.Use(333, Math.round((100.0 * 4 + 400.0 * 6) / 3)), meter.end(m[0]));
    assertEquals(new AttemptResources.Use(333, Math.round((100.0 * 4 + 400.0 * 6) / 3)), meter.end(m[1]));
    assertEquals(new AttemptResources.Use(333, Math.round((100.0 * 4 + 400.0 * 6) / 3)), meter.end(m[2]));
  }

  @Test
  void aClockOrCpuGoingBackCountsNothing() {
    FakeProcess p = new FakeProcess();
    p.cpu = 5000;
    p.now = 50;
    AttemptResources meter = new AttemptResources(p, null);
    AttemptResources.Mark a = meter.begin();
    p.cpu = 4000;
    p.now = 40;
    assertEquals(new AttemptResources.Use(0, 0), meter.end(a));
  }

  @Test
  void theSweepRunsOnlyWhileAttemptsRun() throws Exception {
    ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    try {
      AtomicInteger reads = new AtomicInteger();
      AttemptResources.Gauges counting = new AttemptResources.Gauges() {
        @Override
        public long cpuUs() {
          return reads.incrementAndGet();
        }

        @Override
        public long rssBytes() {
          return MIB;
        }

        @Override
        public double nowMs() {
          return System.nanoTime() / 1e6;
        }
      };
      AttemptResources meter = new AttemptResources(counting, timers);
      Thread.sleep(3 * AttemptResources.SWEEP_MS);
      assertEquals(1, reads.get(), "no sample before an attempt runs");
      AttemptResources.Mark a = meter.begin();
      long until = System.currentTimeMillis() + 10_000;
      while (reads.get() < 5 && System.currentTimeMillis() < until) Thread.sleep(20);
      assertTrue(reads.get() >= 5, "the sweep sampled while an attempt ran: " + reads.get() + " reads");
      assertTrue(meter.end(a).cpuUs > 0);
      int after = reads.get();
      Thread.sleep(3 * AttemptResources.SWEEP_MS);
      assertEquals(after, reads.get(), "no sample once no attempt runs");
    } finally {
      timers.shutdownNow();
    }
  }

  @Test
  void thisProcessHasCpuTimeAndResidentMemory() throws Exception {
    long cpu = AttemptResources.PROCESS.cpuUs();
    assertTrue(cpu > 0, "cpu_us " + cpu);
    Path status = Path.of("/proc/self/status");
    if (!Files.exists(status)) return; // not Linux: RSS 0
    long rss = AttemptResources.PROCESS.rssBytes();
    long kib = Files.readAllLines(status).stream().filter(l -> l.startsWith("VmRSS:"))
        .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst().orElseThrow();
    // the resident pages of statm, not its other fields (the JVM's VmSize is many times its RSS)
    assertTrue(rss > kib * 1024 / 2 && rss < kib * 1024 * 2, "statm rss " + rss + " bytes, /proc/self/status VmRSS " + kib + " KiB");
  }
}
