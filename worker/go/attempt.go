package main

// Running attempts (PROTOCOL.md section 7.2), one goroutine each: STARTED
// (seq 1), a HEARTBEAT at least every heartbeat_interval_ms, chunks as the
// handler streams, then exactly one final. CANCEL, the deadline and shutdown
// cancel the attempt's context (CANCELLED, DEADLINE_EXCEEDED, WORKER_SHUTDOWN).

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

// abort says why an attempt's context was cancelled.
type abort struct{ kind, reason string }

func (a *abort) Error() string { return a.reason }

// taskFailure becomes TASK_OUTCOME_FAILED with this TaskError.
type taskFailure struct {
	code, message string
	retryable     bool
}

func (f *taskFailure) Error() string { return f.message }

func nowMs() int64 { return time.Now().UnixMilli() }

type attempt struct {
	a        *pb.TaskAssignment
	workerID string
	stream   *attemptStream
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	sendMu   sync.Mutex // numbering and sending in one order across goroutines
	seq      uint64
	why      *abort
	giveUp   time.Time
	firstMs  int64
	trace    spanContext // from the assignment's traceparent (zero: none)
	metrics  *workerMetrics
	tracer   *tracer
	span     *runSpan
	res      *attemptResources // the process's CPU time and memory shared among attempts (resources.go)
}

func (t *attempt) stop(kind, reason string) {
	t.mu.Lock()
	if t.why == nil {
		t.why = &abort{kind, reason}
	}
	t.mu.Unlock()
	t.cancel()
}

func (t *attempt) aborted() *abort {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.why
}

// event numbers and sends one event; seq follows sending order.
func (t *attempt) event(fill func(ev *pb.ResultEvent)) *pb.ResultEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	ev := &pb.ResultEvent{TaskId: t.a.TaskId, Attempt: t.a.Attempt, WorkerId: t.workerID, ResultToken: t.a.ResultToken, Seq: t.seq}
	fill(ev)
	return ev
}

func (t *attempt) send(fill func(ev *pb.ResultEvent)) {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	t.stream.send(t.event(fill))
}

func (t *attempt) emit(text string) error {
	if t.ctx.Err() != nil {
		return t.aborted()
	}
	t.mu.Lock()
	if t.firstMs == 0 {
		t.firstMs = nowMs()
	}
	t.mu.Unlock()
	if !t.a.Stream {
		return nil // nobody watches partial output: the final carries it all (TaskAssignment.stream)
	}
	t.send(func(ev *pb.ResultEvent) { ev.Event = &pb.ResultEvent_Chunk{Chunk: &pb.ResultChunk{Text: text}} })
	return nil
}

// wait sleeps d or returns the abort.
func (t *attempt) wait(d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-t.ctx.Done():
		return t.aborted()
	}
}

func (t *attempt) run(handlers map[string]handler, done func()) {
	a := t.a
	started := nowMs()
	t.send(func(ev *pb.ResultEvent) {
		ev.Event = &pb.ResultEvent_Started{Started: &pb.Started{StartedAtMs: started}}
	})
	// The attempt's start and end lines with its task id (attempt_log.go), only when info is on.
	logged := logEnabled("info")
	if logged {
		logAttemptStarted(a, t.trace.traceID)
	}
	beatsDone := make(chan struct{})
	var beats sync.WaitGroup
	if a.HeartbeatIntervalMs > 0 {
		beats.Add(1)
		go func() {
			defer beats.Done()
			tick := time.NewTicker(time.Duration(a.HeartbeatIntervalMs) * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-beatsDone:
					return
				case <-tick.C:
					t.send(func(ev *pb.ResultEvent) {
						ev.Event = &pb.ResultEvent_Heartbeat{Heartbeat: &pb.Heartbeat{TsMs: nowMs()}}
					})
				}
			}
		}()
	}
	if a.DeadlineMs > 0 {
		timer := time.AfterFunc(time.Until(time.UnixMilli(a.DeadlineMs)), func() { t.stop("deadline", "deadline exceeded") })
		defer timer.Stop()
	}
	res := &pb.TaskResult{TaskId: a.TaskId, Attempt: a.Attempt, WorkerId: t.workerID, ResultToken: a.ResultToken, StartedAtMs: started}
	mark := t.res.begin()
	out, err := t.runHandler(handlers)
	cpuUs, memMiBMs := t.res.end(mark)
	if err == nil && t.aborted() != nil {
		err = t.aborted()
	}
	var ab *abort
	var tf *taskFailure
	switch {
	case err == nil:
		res.Outcome = pb.TaskOutcome_TASK_OUTCOME_SUCCEEDED
		res.Output = out
	case errors.As(err, &ab) && ab.kind == "cancel":
		res.Outcome = pb.TaskOutcome_TASK_OUTCOME_CANCELLED
		res.Error = &pb.TaskError{Code: "CANCELLED", Message: ab.reason}
	case errors.As(err, &ab) && ab.kind == "deadline":
		res.Outcome = pb.TaskOutcome_TASK_OUTCOME_FAILED
		res.Error = &pb.TaskError{Code: "DEADLINE_EXCEEDED", Message: "deadline exceeded", Retryable: true}
	case errors.As(err, &ab):
		res.Outcome = pb.TaskOutcome_TASK_OUTCOME_FAILED
		res.Error = &pb.TaskError{Code: "WORKER_SHUTDOWN", Message: "worker shutting down", Retryable: true}
	case errors.As(err, &tf):
		res.Outcome = pb.TaskOutcome_TASK_OUTCOME_FAILED
		res.Error = &pb.TaskError{Code: tf.code, Message: tf.message, Retryable: tf.retryable}
	default:
		res.Outcome = pb.TaskOutcome_TASK_OUTCOME_FAILED
		res.Error = &pb.TaskError{Code: "INTERNAL", Message: err.Error(), Retryable: true}
	}
	close(beatsDone)
	beats.Wait()
	res.Usage = &pb.Usage{CpuUs: cpuUs, MemMibMs: memMiBMs}
	t.mu.Lock()
	if t.firstMs > 0 {
		res.Usage.TtftMs = float64(t.firstMs - started)
	}
	res.LastSeq = t.seq
	t.mu.Unlock()
	res.FinishedAtMs = nowMs()
	t.sendMu.Lock()
	final := t.event(func(ev *pb.ResultEvent) { ev.Event = &pb.ResultEvent_Final{Final: res} })
	t.sendMu.Unlock()
	done()
	code := ""
	if res.Error != nil {
		code = res.Error.Code
	}
	outcome := outcomeLabel(res.Outcome)
	if t.metrics != nil {
		t.metrics.attempt(a.Kind, outcome, float64(res.FinishedAtMs-started)/1000, code)
	}
	t.tracer.end(t.span, outcome, code)
	if logged {
		logAttemptEnded(a, res, res.FinishedAtMs-started, t.trace.traceID)
	}
	t.stream.finish(final, res, t.giveUp)
}

func (t *attempt) runHandler(handlers map[string]handler) (out *structpb.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &taskFailure{"INTERNAL", "handler panicked", true}
		}
	}()
	h, ok := handlers[t.a.Kind]
	if !ok {
		return nil, &taskFailure{"UNSUPPORTED", `this worker does not run kind "` + t.a.Kind + `"`, true}
	}
	var input interface{}
	if t.a.Input != nil {
		input = t.a.Input.AsInterface()
	}
	v, err := h(t, input)
	if err != nil {
		return nil, err
	}
	return structpb.NewValue(v)
}

// runner holds the attempts this worker runs.
type runner struct {
	workerID string
	handlers map[string]handler
	rep      *reporter         // the presence master's
	routes   *routes           // nil: every attempt reports to rep
	metrics  *workerMetrics    // nil: no metrics
	tracer   *tracer           // nil: no spans
	res      *attemptResources // made on the first start
	onChange func()
	mu       sync.Mutex
	running  map[attemptKey]*attempt
	wg       sync.WaitGroup
}

func (r *runner) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// start runs an assignment; false if this task_id + attempt already runs (QoS 1 duplicate).
// target: the ResultService its results go to (resolved result_target; "": the presence master's).
func (r *runner) start(a *pb.TaskAssignment, target string) bool {
	k := attemptKey{a.TaskId, a.Attempt}
	r.mu.Lock()
	if _, dup := r.running[k]; dup {
		r.mu.Unlock()
		return false
	}
	rep, routed := r.rep, false
	if target != "" && r.routes != nil {
		if rr := r.routes.acquire(target); rr != nil {
			rep, routed = rr, true
		}
	}
	if r.res == nil {
		r.res = newAttemptResources(systemGauges(), sweepEvery)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &attempt{a: a, workerID: r.workerID, stream: &attemptStream{r: rep}, ctx: ctx, cancel: cancel, giveUp: time.Now().Add(24 * time.Hour), metrics: r.metrics, tracer: r.tracer, res: r.res}
	trace, traced := parseTraceparent(a.Traceparent)
	if traced {
		t.trace = trace
	}
	t.span = r.tracer.startRun(trace, traced, strAttr("taskwire.task_id", a.TaskId), intAttr("taskwire.attempt", int64(a.Attempt)), strAttr("taskwire.kind", a.Kind), strAttr("taskwire.worker_id", r.workerID))
	if t.span != nil {
		t.trace.traceID = t.span.span.TraceID
	}
	r.running[k] = t
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		t.run(r.handlers, func() {
			r.mu.Lock()
			delete(r.running, k)
			r.mu.Unlock()
			cancel()
			r.onChange()
		})
		if routed {
			r.routes.release(target) // after its final was confirmed or given up
		}
	}()
	return true
}

func (r *runner) cancelAttempt(taskID string, attempt uint32, reason string) bool {
	r.mu.Lock()
	t := r.running[attemptKey{taskID, attempt}]
	r.mu.Unlock()
	if t == nil {
		return false
	}
	if reason == "" {
		reason = "cancelled"
	}
	t.stop("cancel", reason)
	return true
}

// shutdown lets attempts finish for grace, hands back the rest, and waits (bounded) for their finals.
func (r *runner) shutdown(grace, deliver time.Duration) {
	until := time.Now().Add(grace)
	for r.size() > 0 && time.Now().Before(until) {
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	for _, t := range r.running {
		t.giveUp = time.Now().Add(deliver)
		t.stop("shutdown", "worker shutting down")
	}
	r.mu.Unlock()
	finished := make(chan struct{})
	go func() { r.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(deliver):
	}
}
