package main

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

// shipped collects what logFields publishes on the log topic, at the given TASKWIRE_LOG_LEVEL.
func shipped(t *testing.T, level string) *[]map[string]string {
	t.Helper()
	var got []map[string]string
	ship := func(payload []byte) {
		var m map[string]string
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("not JSON: %s", payload)
		}
		got = append(got, m)
	}
	logShip.Store(&ship)
	logMin.Store(logRanks[level])
	t.Cleanup(func() {
		logShip.Store(nil)
		logMin.Store(shipRank)
	})
	return &got
}

func TestLogLinesShipOnlyTheLogLineFieldsAtInfoAndAbove(t *testing.T) {
	got := shipped(t, "debug")
	logFields("info", map[string]string{"task_id": "t-1", "trace_id": "abc"}, "hello %d", 1)
	logf("debug", "stays on stderr")
	logf("warn", "no task")
	if len(*got) != 2 {
		t.Fatalf("shipped %v", *got)
	}
	first := (*got)[0]
	if first["msg"] != "hello 1" || first["task_id"] != "t-1" || first["level"] != "info" || first["source"] != logSource || first["ts"] == "" {
		t.Fatalf("line %v", first)
	}
	if _, ok := first["trace_id"]; ok || len(first) != 5 {
		t.Fatalf("only ts, level, source, msg and task_id travel: %v", first)
	}
	if _, ok := (*got)[1]["task_id"]; ok {
		t.Fatalf("an empty task_id is left out: %v", (*got)[1])
	}
}

func TestAttemptLinesCarryTheTaskIDAndFollowTheLevel(t *testing.T) {
	got := shipped(t, "info")
	input, _ := structpb.NewValue(map[string]interface{}{"model": "m-1", "messages": []interface{}{}})
	a := &pb.TaskAssignment{TaskId: "t-2", Attempt: 2, Kind: "llm", Input: input, DeadlineMs: 1000}
	logAttemptStarted(a, "")
	logAttemptEnded(a, &pb.TaskResult{Outcome: pb.TaskOutcome_TASK_OUTCOME_FAILED, Error: &pb.TaskError{Code: "PROVIDER_AUTH", Message: "key sk-secret refused"}}, 12, "")
	if len(*got) != 2 {
		t.Fatalf("shipped %v", *got)
	}
	if m := (*got)[0]; m["msg"] != "task started: kind=llm attempt=2 model=m-1" || m["task_id"] != "t-2" {
		t.Fatalf("start %v", m)
	}
	if m := (*got)[1]; m["msg"] != "task ended: outcome=failed code=PROVIDER_AUTH kind=llm attempt=2 duration_ms=12" || m["task_id"] != "t-2" {
		t.Fatalf("end %v", m)
	}
	logMin.Store(logRanks["warn"])
	if logEnabled("info") {
		t.Fatal("info enabled at warn")
	}
}

func TestAttemptOutcome(t *testing.T) {
	a := &pb.TaskAssignment{DeadlineMs: 1000}
	for want, res := range map[string]*pb.TaskResult{
		"succeeded": {Outcome: pb.TaskOutcome_TASK_OUTCOME_SUCCEEDED},
		"failed":    {Outcome: pb.TaskOutcome_TASK_OUTCOME_FAILED, Error: &pb.TaskError{Code: "INTERNAL"}, FinishedAtMs: 2000},
		"timeout":   {Outcome: pb.TaskOutcome_TASK_OUTCOME_FAILED, Error: &pb.TaskError{Code: "DEADLINE_EXCEEDED"}},
		"cancelled": {Outcome: pb.TaskOutcome_TASK_OUTCOME_CANCELLED, Error: &pb.TaskError{Code: "CANCELLED"}, FinishedAtMs: 999},
	} {
		if got := attemptOutcome(a, res); got != want {
			t.Fatalf("%v: %s, want %s", res, got, want)
		}
	}
	// The master's CANCEL at the run deadline is a timeout.
	if got := attemptOutcome(a, &pb.TaskResult{Outcome: pb.TaskOutcome_TASK_OUTCOME_CANCELLED, FinishedAtMs: 1000}); got != "timeout" {
		t.Fatalf("cancel at the deadline: %s", got)
	}
}
