"""What each attempt costs in CPU and memory, for the usage ledger
(Usage.cpu_us, Usage.mem_mib_ms; docs/PROTOCOL.md section 7.5), by the rule of
the TypeScript worker (worker/attempt-resources.ts).

Attempts share one process (each runs on a thread of it), so CPU time cannot
be told apart per attempt. Between two samples, the process's CPU time (user +
system, every thread: resource.getrusage(RUSAGE_SELF)) goes in equal shares to
the attempts running then; an attempt's cpu_us is the sum of its shares from
its start to its end. mem_mib_ms is the same with the resident set size (MiB,
from /proc/self/statm, read at most every RSS_EVERY_MS) times the elapsed ms.

Samples are taken when an attempt begins or ends, and every SWEEP_S by one
sweeper thread while any attempt runs (it waits, costing nothing, while none
does).
"""
import os
import resource
import threading
import time
from typing import Callable, NamedTuple, Optional, Tuple

RSS_EVERY_MS = 10.0
SWEEP_S = 0.1
MIB = 1024.0 * 1024.0


class Gauges(NamedTuple):
    """Reads the process; plain functions in unit tests."""

    cpu_us: Callable[[], float]  # user + system CPU time of the process, µs
    rss_bytes: Callable[[], float]  # resident set size, bytes
    now_ms: Callable[[], float]  # a monotonic clock, ms


def _cpu_us() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return (u.ru_utime + u.ru_stime) * 1e6


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> float:
    try:
        with open("/proc/self/statm", "rb") as f:
            return float(int(f.read().split()[1]) * _PAGE)
    except (OSError, ValueError, IndexError):
        # no /proc: the peak RSS (KiB on Linux) is the best the process can tell
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


PROCESS_GAUGES = Gauges(_cpu_us, _rss_bytes, lambda: time.monotonic() * 1000.0)

Mark = Tuple[float, float]


class AttemptResources:
    """begin() when an attempt starts, end(mark) when it ends; thread-safe.
    sweep_s: the sweeper's period while attempts run (None: no sweeper, for tests)."""

    def __init__(self, gauges: Gauges = PROCESS_GAUGES, sweep_s: Optional[float] = SWEEP_S) -> None:
        self._g = gauges
        self._cond = threading.Condition()
        self._running = 0
        self._last_cpu = gauges.cpu_us()
        self._last_at = gauges.now_ms()
        self._rss_mib = gauges.rss_bytes() / MIB
        self._rss_at = self._last_at
        # CPU µs and MiB·ms per running attempt, summed since the meter began.
        self._cpu_share = 0.0
        self._mem_share = 0.0
        self._sweep_s = sweep_s
        self._sweeper: Optional[threading.Thread] = None

    def _sample(self) -> None:  # under self._cond
        cpu = self._g.cpu_us()
        now = self._g.now_ms()
        if now - self._rss_at >= RSS_EVERY_MS:
            self._rss_mib = self._g.rss_bytes() / MIB
            self._rss_at = now
        if self._running > 0:
            self._cpu_share += max(0.0, cpu - self._last_cpu) / self._running
            self._mem_share += self._rss_mib * max(0.0, now - self._last_at) / self._running
        self._last_cpu = cpu
        self._last_at = now

    def sample(self) -> None:
        """Shares out what the process used since the last sample among the attempts running."""
        with self._cond:
            self._sample()

    def begin(self) -> Mark:
        with self._cond:
            self._sample()
            self._running += 1
            if self._sweep_s is not None:
                if self._sweeper is None:
                    self._sweeper = threading.Thread(target=self._sweep, name="attempt-resources", daemon=True)
                    self._sweeper.start()
                elif self._running == 1:
                    self._cond.notify()
            return (self._cpu_share, self._mem_share)

    def end(self, mark: Mark) -> Tuple[int, int]:
        """(cpu_us, mem_mib_ms) of the attempt begun at mark. Once per begin()."""
        with self._cond:
            self._sample()
            self._running = max(0, self._running - 1)
            return (int(round(self._cpu_share - mark[0])), int(round(self._mem_share - mark[1])))

    @property
    def size(self) -> int:
        with self._cond:
            return self._running

    def _sweep(self) -> None:
        assert self._sweep_s is not None
        with self._cond:
            while True:
                while self._running == 0:
                    self._cond.wait()
                self._cond.wait(self._sweep_s)
                if self._running > 0:
                    self._sample()
