"""The splitting rule of resources.AttemptResources (docs/PROTOCOL.md section 7.5),
on a scripted process, as test/billing/usage-resources.test.ts checks the
TypeScript meter; and the real process: a thread burning CPU gets it.
Run: cd worker/python && python3 -m unittest discover -s tests"""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from taskwire_worker.resources import AttemptResources, Gauges  # noqa: E402

MIB = 2 ** 20


class Scripted:
    def __init__(self) -> None:
        self.cpu, self.rss, self.now = 0.0, 100.0 * MIB, 0.0

    def gauges(self) -> Gauges:
        return Gauges(lambda: self.cpu, lambda: self.rss, lambda: self.now)


class SplittingRule(unittest.TestCase):
    def test_each_span_goes_in_equal_shares_to_the_attempts_running_in_it(self) -> None:
        p = Scripted()
        meter = AttemptResources(p.gauges(), sweep_s=None)
        a = meter.begin()
        p.cpu += 1000  # a alone: 1000 µs, 100 MiB for 10 ms
        p.now += 10
        b = meter.begin()
        p.cpu += 3000  # a and b: 1500 µs each; 200 MiB for 20 ms: 2000 MiB·ms each
        p.rss = 200.0 * MIB
        p.now += 20
        meter.sample()  # the sweep
        p.cpu += 600  # still both: 300 each, 200 MiB for 10 ms
        p.now += 10
        self.assertEqual(meter.end(a), (1000 + 1500 + 300, 1000 + 2000 + 1000))
        p.cpu += 500  # b alone
        p.now += 5
        self.assertEqual(meter.end(b), (1500 + 300 + 500, 2000 + 1000 + 1000))
        self.assertEqual(meter.size, 0)
        p.cpu += 10_000  # idle: nobody's
        p.now += 100
        c = meter.begin()
        self.assertEqual(meter.end(c), (0, 0))

    def test_rss_is_read_at_most_every_10_ms(self) -> None:
        p = Scripted()
        meter = AttemptResources(p.gauges(), sweep_s=None)
        a = meter.begin()
        p.now += 5
        p.rss = 300.0 * MIB  # not read yet: 100 MiB stands for the first 5 ms
        meter.sample()
        p.now += 5
        self.assertEqual(meter.end(a), (0, 100 * 5 + 300 * 5))

    def test_the_real_process_cpu_of_a_burning_thread_is_counted_with_the_sweeper(self) -> None:
        meter = AttemptResources()  # the process, the 100 ms sweeper running
        mark = meter.begin()
        from_cpu = time.process_time()

        def burn() -> None:
            x = 0.0
            while time.process_time() - from_cpu < 0.3:
                for i in range(10_000):
                    x += i ** 0.5

        t = threading.Thread(target=burn)
        t.start()
        t.join()
        burned_us = (time.process_time() - from_cpu) * 1e6
        cpu_us, mem_mib_ms = meter.end(mark)
        self.assertGreaterEqual(cpu_us, burned_us * 0.9)
        self.assertGreater(mem_mib_ms, 0)


if __name__ == "__main__":
    unittest.main()
