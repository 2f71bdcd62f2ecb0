package main

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

// fakeMaster is a real ResultService on 127.0.0.1:0 that records what it gets.
type fakeMaster struct {
	pb.UnimplementedResultServiceServer
	addr          string
	srv           *grpc.Server
	refuseStreams bool // StreamResults fails: finals must come again with SubmitResult
	mu            sync.Mutex
	events        []*pb.ResultEvent
	submits       []*pb.TaskResult
}

func startFakeMaster(t *testing.T, refuseStreams bool) *fakeMaster {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{addr: lis.Addr().String(), srv: grpc.NewServer(), refuseStreams: refuseStreams}
	pb.RegisterResultServiceServer(m.srv, m)
	go func() { _ = m.srv.Serve(lis) }()
	t.Cleanup(m.srv.Stop)
	return m
}

func (m *fakeMaster) StreamResults(st pb.ResultService_StreamResultsServer) error {
	if m.refuseStreams {
		return status.Error(codes.Unavailable, "streams refused by the test")
	}
	for {
		b, err := st.Recv()
		if err == io.EOF {
			return st.SendAndClose(&pb.StreamResultsResponse{})
		}
		if err != nil {
			return err
		}
		m.mu.Lock()
		m.events = append(m.events, b.Events...)
		m.mu.Unlock()
	}
}

func (m *fakeMaster) SubmitResult(_ context.Context, r *pb.TaskResult) (*pb.SubmitResultResponse, error) {
	m.mu.Lock()
	m.submits = append(m.submits, r)
	m.mu.Unlock()
	return &pb.SubmitResultResponse{Disposition: pb.Disposition_DISPOSITION_ACCEPTED}, nil
}

// of counts the events (by kind) and SubmitResult calls of one task.
func (m *fakeMaster) of(taskID string) (kinds map[string]int, submits int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kinds = map[string]int{}
	for _, ev := range m.events {
		if ev.TaskId != taskID {
			continue
		}
		switch ev.Event.(type) {
		case *pb.ResultEvent_Started:
			kinds["started"]++
		case *pb.ResultEvent_Chunk:
			kinds["chunk"]++
		case *pb.ResultEvent_Heartbeat:
			kinds["heartbeat"]++
		case *pb.ResultEvent_Final:
			kinds["final"]++
		}
	}
	for _, r := range m.submits {
		if r.TaskId == taskID {
			submits++
		}
	}
	return kinds, submits
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	until := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(until) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestResultTargetIsValidatedAndPortOnlyMeansTheBrokerHost(t *testing.T) {
	for raw, want := range map[string]string{
		"":                    "",
		"10.0.0.2:50051":      "10.0.0.2:50051",
		"master-2.internal:7": "master-2.internal:7",
		"[::1]:50051":         "[::1]:50051",
		":50052":              "broker.example:50052",
	} {
		got, err := resultTarget(raw, "broker.example")
		if err != nil || got != want {
			t.Errorf("resultTarget(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if got, _ := resultTarget(":9", "::1"); got != "[::1]:9" {
		t.Errorf("an IPv6 broker host is bracketed: %q", got)
	}
	for _, bad := range []string{"no-port", "host:", "host:123456", "a b:1", "http://x:1", "host:port", "host:1/x"} {
		if _, err := resultTarget(bad, "broker"); err == nil || !strings.HasPrefix(err.Error(), "result_target: ") {
			t.Errorf("resultTarget(%q) accepted (err %v)", bad, err)
		}
	}
}

func TestAttemptsReportToTheirResultTarget(t *testing.T) {
	presence, other, streamless := startFakeMaster(t, false), startFakeMaster(t, false), startFakeMaster(t, true)
	rep := newReporter()
	rep.setTarget(presence.addr)
	defer rep.close()
	rs := newRoutes(time.Hour, 0)
	defer rs.close()
	r := &runner{workerID: "w-routes", handlers: map[string]handler{"echo": echoHandler, "sleep": sleepHandler}, rep: rep, routes: rs,
		onChange: func() {}, running: map[attemptKey]*attempt{}}
	asg := func(id, kind string, input map[string]interface{}) *pb.TaskAssignment {
		v, err := structpb.NewValue(input)
		if err != nil {
			t.Fatal(err)
		}
		return &pb.TaskAssignment{TaskId: id, Attempt: 1, Kind: kind, Input: v, ResultToken: "tok-" + id, Stream: true, HeartbeatIntervalMs: 50}
	}
	r.start(asg("routed-sleep", "sleep", map[string]interface{}{"ms": 300.0}), other.addr)
	r.start(asg("routed-echo", "echo", map[string]interface{}{"text": "to the other master"}), other.addr)
	r.start(asg("presence-echo", "echo", map[string]interface{}{"text": "to the presence master"}), "")
	r.start(asg("resent-echo", "echo", map[string]interface{}{"text": "re-sent"}), streamless.addr)

	waitUntil(t, "the finals", func() bool {
		a, _ := other.of("routed-sleep")
		b, _ := other.of("routed-echo")
		c, _ := presence.of("presence-echo")
		_, d := streamless.of("resent-echo")
		return a["final"] == 1 && b["final"] == 1 && c["final"] == 1 && d >= 1
	})
	if k, _ := other.of("routed-sleep"); k["started"] != 1 || k["heartbeat"] < 2 {
		t.Errorf("the routed sleep's STARTED and heartbeats: %v", k)
	}
	if k, _ := other.of("routed-echo"); k["chunk"] != 4 {
		t.Errorf("the routed echo's chunks: %v", k)
	}
	for _, id := range []string{"routed-sleep", "routed-echo", "resent-echo"} {
		if k, n := presence.of(id); len(k) != 0 || n != 0 {
			t.Errorf("%s reached the presence master: %v, %d submits", id, k, n)
		}
	}
	if k, n := other.of("presence-echo"); len(k) != 0 || n != 0 {
		t.Errorf("the unrouted attempt reached the other master: %v, %d submits", k, n)
	}
	// One reporter per target, shared; closed once idle (no attempt, nothing unconfirmed).
	waitUntil(t, "the attempts to end", func() bool { return r.size() == 0 && rs.waitConfirmed(0) })
	waitUntil(t, "the attempts to release their routes", func() bool { // after their finals' confirmation
		rs.mu.Lock()
		defer rs.mu.Unlock()
		for _, r := range rs.byTarget {
			if r.users != 0 {
				return false
			}
		}
		return true
	})
	if open := rs.open(); len(open) != 2 {
		t.Fatalf("open routes %v, want the two targets", open)
	}
	rs.sweep(time.Now().Add(time.Minute))
	if open := rs.open(); len(open) != 2 {
		t.Fatalf("routes closed before their idle time: %v", open)
	}
	rs.sweep(time.Now().Add(2 * time.Hour))
	if open := rs.open(); len(open) != 0 {
		t.Fatalf("idle routes still open: %v", open)
	}
	// A later attempt to a closed target opens it again.
	r.start(asg("again", "echo", map[string]interface{}{"text": "again"}), other.addr)
	waitUntil(t, "the reopened route's final", func() bool { k, _ := other.of("again"); return k["final"] == 1 })
}

func TestAnInvalidResultTargetDropsTheWholeMessage(t *testing.T) {
	w := newWorker(&config{workerID: "w-invalid", mqttHost: "127.0.0.1", mqttPort: 1, topicRoot: "taskwire/v1", capacity: 2, metricsPort: -1, statusEveryMs: 60_000})
	defer w.routes.close()
	err := w.onTasks([]byte(`{"tasks":[{"task_id":"t1","attempt":1,"kind":"sleep","input":{"ms":10},"result_token":"k"}],"result_target":"no-port"}`))
	if err == nil || !strings.HasPrefix(err.Error(), "result_target: ") {
		t.Fatalf("onTasks: %v", err)
	}
	if n := w.run.size(); n != 0 {
		t.Fatalf("%d attempts started from a message with an invalid result_target", n)
	}
}
