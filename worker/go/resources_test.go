package main

import (
	"testing"
	"time"
)

// The splitting rule (docs/PROTOCOL.md section 7.5) on a scripted process, as
// test/billing/usage-resources.test.ts checks the TypeScript meter.
func TestAttemptResourcesSharesEachSpanAmongTheAttemptsRunning(t *testing.T) {
	cpu, rss, now := 0.0, 100.0*mib, time.Duration(0)
	ms := func(n int) { now += time.Duration(n) * time.Millisecond }
	m := newAttemptResources(processGauges{cpuUs: func() float64 { return cpu }, rssBytes: func() float64 { return rss }, now: func() time.Duration { return now }}, 0)
	check := func(name string, gotCPU, gotMem, wantCPU, wantMem uint64) {
		t.Helper()
		if gotCPU != wantCPU || gotMem != wantMem {
			t.Fatalf("%s: cpu_us=%d mem_mib_ms=%d, want %d and %d", name, gotCPU, gotMem, wantCPU, wantMem)
		}
	}
	a := m.begin()
	cpu += 1000 // a alone: 1000 µs, 100 MiB for 10 ms
	ms(10)
	b := m.begin()
	cpu += 3000 // a and b: 1500 µs each; 200 MiB for 20 ms: 2000 MiB·ms each
	rss = 200 * mib
	ms(20)
	m.sample() // the sweep
	cpu += 600 // still both: 300 each, 200 MiB for 10 ms
	ms(10)
	c, mem := m.end(a)
	check("a", c, mem, 1000+1500+300, 1000+2000+1000)
	cpu += 500 // b alone
	ms(5)
	c, mem = m.end(b)
	check("b", c, mem, 1500+300+500, 2000+1000+1000)
	if m.size() != 0 {
		t.Fatalf("%d attempts still counted", m.size())
	}
	cpu += 10_000 // idle: nobody's
	ms(100)
	c, mem = m.end(m.begin())
	check("idle", c, mem, 0, 0)
}

func TestAttemptResourcesReadsRSSAtMostEvery10ms(t *testing.T) {
	rss, now := 100.0*mib, time.Duration(0)
	m := newAttemptResources(processGauges{cpuUs: func() float64 { return 0 }, rssBytes: func() float64 { return rss }, now: func() time.Duration { return now }}, 0)
	a := m.begin()
	now += 5 * time.Millisecond
	rss = 300 * mib // not read yet: 100 MiB stands for the first 5 ms
	m.sample()
	now += 5 * time.Millisecond
	if _, mem := m.end(a); mem != 100*5+300*5 {
		t.Fatalf("mem_mib_ms=%d, want %d", mem, 100*5+300*5)
	}
}

// The real process: CPU burnt on other goroutines while the sweeper runs counts for the attempt.
func TestAttemptResourcesCountsTheProcessCPU(t *testing.T) {
	m := newAttemptResources(systemGauges(), sweepEvery)
	mark := m.begin()
	from := rusageCPUUs()
	done := make(chan float64, 2)
	for i := 0; i < 2; i++ {
		go func() {
			x := 0.0
			for rusageCPUUs()-from < 300_000 {
				for j := 0; j < 10_000; j++ {
					x += float64(j) * 1.0001
				}
			}
			done <- x
		}()
	}
	<-done
	<-done
	burned := rusageCPUUs() - from
	c, mem := m.end(mark)
	if float64(c) < burned*0.9 || mem == 0 {
		t.Fatalf("cpu_us=%d mem_mib_ms=%d, the process burned %.0f µs", c, mem, burned)
	}
	if m.size() != 0 || m.stop != nil {
		t.Fatalf("the sweeper still runs after the last attempt ended")
	}
}

// The hot path: one attempt's begin and end on the real process (two getrusage calls, /proc/self/statm at most every 10 ms).
func BenchmarkAttemptResourcesBeginEnd(b *testing.B) {
	m := newAttemptResources(systemGauges(), 0)
	for i := 0; i < b.N; i++ {
		m.end(m.begin())
	}
}
