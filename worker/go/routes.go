package main

// Results to the master that dispatched them (docs/MULTI_MASTER.md). With one
// master everything goes to the ResultService of the presence topic (the
// worker's reporter). With several masters on one broker each Assignments
// message names its master's ResultService (result_target, PROTOCOL.md 7.1):
// the attempts it carries report there, STARTED, chunks, heartbeats and the
// final (and its SubmitResult re-sends), on a reporter of their own per target,
// shared by every attempt that names it and closed once no attempt has used it
// for routeIdle.

import (
	"fmt"
	"regexp"
	"sync"
	"time"
)

const (
	routeIdle  = 30 * time.Second
	routeSweep = 5 * time.Second
)

var targetPattern = regexp.MustCompile(`^[^\s/]*:[0-9]{1,5}$`)

// resultTarget validates Assignments.result_target and resolves ":port" to the
// broker's host (as for the presence's grpc_host); "" stays "" (the presence master).
func resultTarget(raw, brokerHost string) (string, error) {
	if raw == "" {
		return "", nil
	}
	if !targetPattern.MatchString(raw) {
		return "", fmt.Errorf("result_target: expected host:port, got %q", raw)
	}
	if raw[0] == ':' {
		return bracket(brokerHost) + raw, nil
	}
	return raw, nil
}

type route struct {
	rep       *reporter
	users     int
	idleSince time.Time
}

// routes holds one reporter per result_target.
type routes struct {
	mu       sync.Mutex
	byTarget map[string]*route
	idle     time.Duration
	closed   bool
	stop     chan struct{}
}

// newRoutes sweeps idle reporters every `every` (0: only when sweep is called).
func newRoutes(idle, every time.Duration) *routes {
	rs := &routes{byTarget: map[string]*route{}, idle: idle, stop: make(chan struct{})}
	if every > 0 {
		go func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-rs.stop:
					return
				case now := <-tick.C:
					rs.sweep(now)
				}
			}
		}()
	}
	return rs
}

// acquire is the reporter of target for one more attempt (opened when none is);
// nil once closed. Every acquire is paired with a release.
func (rs *routes) acquire(target string) *reporter {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return nil
	}
	r := rs.byTarget[target]
	if r == nil {
		r = &route{rep: newReporter()}
		r.rep.setTarget(target)
		rs.byTarget[target] = r
	}
	r.users++
	return r.rep
}

// release: the attempt's final was confirmed (or given up).
func (rs *routes) release(target string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.byTarget[target]; r != nil {
		if r.users--; r.users == 0 {
			r.idleSince = time.Now()
		}
	}
}

// sweep closes the reporters no attempt has used since now - idle.
func (rs *routes) sweep(now time.Time) {
	var idle []*reporter
	rs.mu.Lock()
	for target, r := range rs.byTarget {
		if r.users == 0 && now.Sub(r.idleSince) >= rs.idle && r.rep.unconfirmedCount() == 0 {
			idle = append(idle, r.rep)
			delete(rs.byTarget, target)
			logf("info", "result route to %s closed (idle)", target)
		}
	}
	rs.mu.Unlock()
	for _, rep := range idle {
		rep.close()
	}
}

// open lists the targets with an open reporter.
func (rs *routes) open() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]string, 0, len(rs.byTarget))
	for t := range rs.byTarget {
		out = append(out, t)
	}
	return out
}

// waitConfirmed waits up to d for every route's finals to be confirmed.
func (rs *routes) waitConfirmed(d time.Duration) bool {
	until := time.Now().Add(d)
	rs.mu.Lock()
	reps := make([]*reporter, 0, len(rs.byTarget))
	for _, r := range rs.byTarget {
		reps = append(reps, r.rep)
	}
	rs.mu.Unlock()
	ok := true
	for _, rep := range reps {
		ok = rep.waitConfirmed(time.Until(until)) && ok
	}
	return ok
}

func (rs *routes) close() {
	rs.mu.Lock()
	if rs.closed {
		rs.mu.Unlock()
		return
	}
	rs.closed = true
	close(rs.stop)
	all := rs.byTarget
	rs.byTarget = map[string]*route{}
	rs.mu.Unlock()
	for _, r := range all {
		r.rep.close()
	}
}
