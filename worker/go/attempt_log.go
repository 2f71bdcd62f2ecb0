package main

// One info line when an attempt starts and one when it ends, with its task id
// (PROTOCOL.md section 13.1): shipped on the log topic (logs.go), the master
// keeps them with the task (GET /api/v1/logs?task=ID). Only the message and
// the task id travel, so what a task's page must show is in the message as
// key=value words: kind, attempt, model; outcome, error code, duration. None of
// them can hold a secret (no input, no error message). Nothing is built when
// info is off (TASKWIRE_LOG_LEVEL=warn).

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

// A handler's error code is its own string: cut so a line stays a line.
const maxLoggedCode = 64

// modelOf is the model a task names, as common/task-kinds.ts reads it (llm and embed: model, infer: model_name).
func modelOf(kind string, input *structpb.Value) string {
	field := map[string]string{"llm": "model", "embed": "model", "infer": "model_name"}[kind]
	if field == "" {
		return ""
	}
	return input.GetStructValue().GetFields()[field].GetStringValue()
}

// attemptOutcome is succeeded, failed, cancelled or timeout: past its deadline, seen here
// (DEADLINE_EXCEEDED) or as the master's CANCEL at that same deadline (its run timeout).
func attemptOutcome(a *pb.TaskAssignment, res *pb.TaskResult) string {
	switch {
	case res.Outcome == pb.TaskOutcome_TASK_OUTCOME_SUCCEEDED:
		return "succeeded"
	case res.GetError().GetCode() == "DEADLINE_EXCEEDED":
		return "timeout"
	case res.Outcome == pb.TaskOutcome_TASK_OUTCOME_CANCELLED:
		if a.DeadlineMs > 0 && res.FinishedAtMs >= a.DeadlineMs {
			return "timeout"
		}
		return "cancelled"
	}
	return "failed"
}

func logAttemptStarted(a *pb.TaskAssignment, traceID string) {
	model := ""
	if m := modelOf(a.Kind, a.Input); m != "" {
		model = " model=" + m
	}
	logFields("info", map[string]string{"task_id": a.TaskId, "trace_id": traceID}, "task started: kind=%s attempt=%d%s", a.Kind, a.Attempt, model)
}

func logAttemptEnded(a *pb.TaskAssignment, res *pb.TaskResult, durationMs int64, traceID string) {
	outcome := attemptOutcome(a, res)
	code := ""
	if outcome != "succeeded" {
		c := res.GetError().GetCode()
		if c == "" {
			c = "UNKNOWN"
		}
		if len(c) > maxLoggedCode {
			c = c[:maxLoggedCode]
		}
		code = fmt.Sprintf(" code=%s", c)
	}
	logFields("info", map[string]string{"task_id": a.TaskId, "trace_id": traceID},
		"task ended: outcome=%s%s kind=%s attempt=%d duration_ms=%d", outcome, code, a.Kind, a.Attempt, durationMs)
}
