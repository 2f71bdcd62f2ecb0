package main

// What each attempt costs in CPU and memory, for the usage ledger
// (Usage.cpu_us, Usage.mem_mib_ms; docs/PROTOCOL.md section 7.5), by the rule
// of the TypeScript worker (worker/attempt-resources.ts).
//
// Attempts share one process (goroutines on its threads), so CPU time cannot
// be told apart per attempt. Between two samples, the process's CPU time
// (user + system, every thread: getrusage(RUSAGE_SELF)) goes in equal shares
// to the attempts running then; an attempt's cpu_us is the sum of its shares
// from its start to its end. mem_mib_ms is the same with the resident set
// size (MiB, from /proc/self/statm, read at most every rssEvery) times the
// elapsed ms. Samples are taken when an attempt begins or ends, and every
// sweepEvery by one goroutine that runs only while attempts do.

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	rssEvery   = 10 * time.Millisecond
	sweepEvery = 100 * time.Millisecond
	mib        = 1024 * 1024
)

// processGauges reads the process; plain functions in unit tests.
type processGauges struct {
	cpuUs    func() float64 // user + system CPU time of the process, µs
	rssBytes func() float64 // resident set size, bytes
	now      func() time.Duration
}

var pageSize = float64(os.Getpagesize())

func rusageCPUUs() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec)*1e6 + float64(ru.Utime.Usec+ru.Stime.Usec)
}

func statmRSSBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err == nil {
		if f := bytes.Fields(b); len(f) > 1 {
			if pages, err := strconv.ParseFloat(string(f[1]), 64); err == nil {
				return pages * pageSize
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		return float64(ru.Maxrss) * 1024 // no /proc: the peak (KiB on Linux)
	}
	return 0
}

var processStart = time.Now()

func systemGauges() processGauges {
	return processGauges{cpuUs: rusageCPUUs, rssBytes: statmRSSBytes, now: func() time.Duration { return time.Since(processStart) }}
}

// resourceMark is the meter's running sums when an attempt began.
type resourceMark struct{ cpu, mem float64 }

// attemptResources shares the process's CPU time and memory among the running attempts.
type attemptResources struct {
	g        processGauges
	sweep    time.Duration // 0: no sweeper (unit tests)
	mu       sync.Mutex
	running  int
	lastCPU  float64
	lastAt   time.Duration
	rssMiB   float64
	rssAt    time.Duration
	cpuShare float64 // CPU µs per running attempt, summed since the meter began
	memShare float64 // MiB·ms per running attempt, likewise
	stop     chan struct{}
}

func newAttemptResources(g processGauges, sweep time.Duration) *attemptResources {
	m := &attemptResources{g: g, sweep: sweep, lastCPU: g.cpuUs(), lastAt: g.now(), rssMiB: g.rssBytes() / mib}
	m.rssAt = m.lastAt
	return m
}

func (m *attemptResources) sampleLocked() {
	cpu, now := m.g.cpuUs(), m.g.now()
	if now-m.rssAt >= rssEvery {
		m.rssMiB, m.rssAt = m.g.rssBytes()/mib, now
	}
	if m.running > 0 {
		m.cpuShare += math.Max(0, cpu-m.lastCPU) / float64(m.running)
		m.memShare += m.rssMiB * math.Max(0, float64(now-m.lastAt)/float64(time.Millisecond)) / float64(m.running)
	}
	m.lastCPU, m.lastAt = cpu, now
}

// sample shares out what the process used since the last sample among the attempts running.
func (m *attemptResources) sample() {
	m.mu.Lock()
	m.sampleLocked()
	m.mu.Unlock()
}

// begin: an attempt starts; its mark for end.
func (m *attemptResources) begin() resourceMark {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sampleLocked()
	m.running++
	if m.running == 1 && m.sweep > 0 {
		m.stop = make(chan struct{})
		go m.sweeper(m.stop)
	}
	return resourceMark{m.cpuShare, m.memShare}
}

// end: the attempt begun at mark ends; its cpu_us and mem_mib_ms. Once per begin.
func (m *attemptResources) end(mark resourceMark) (cpuUs, memMiBMs uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sampleLocked()
	if m.running > 0 {
		m.running--
		if m.running == 0 && m.stop != nil {
			close(m.stop)
			m.stop = nil
		}
	}
	return uint64(math.Round(math.Max(0, m.cpuShare-mark.cpu))), uint64(math.Round(math.Max(0, m.memShare-mark.mem)))
}

func (m *attemptResources) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running
}

func (m *attemptResources) sweeper(stop <-chan struct{}) {
	tick := time.NewTicker(m.sweep)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			m.sample()
		}
	}
}
