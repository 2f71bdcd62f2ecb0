package main

// Results over gRPC (PROTOCOL.md section 8), one StreamResults call per
// attempt (section 8.4): STARTED, chunks, heartbeats and the final go on it;
// half-closing and receiving the StreamResultsResponse confirms the final.
// A broken stream is replaced for later events; an unconfirmed final is
// re-sent with SubmitResult (backoff 100 ms doubling to 5 s) until any answer,
// and again to a new target when the master moves.

import (
	"context"
	"log"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

type attemptKey struct {
	taskID  string
	attempt uint32
}

type reporter struct {
	mu          sync.Mutex
	target      string
	conn        *grpc.ClientConn
	client      pb.ResultServiceClient
	closed      bool
	unconfirmed map[attemptKey]*pb.TaskResult
}

func newReporter() *reporter {
	return &reporter{unconfirmed: map[attemptKey]*pb.TaskResult{}}
}

func (r *reporter) setTarget(target string) {
	r.mu.Lock()
	if target == r.target || r.closed {
		r.mu.Unlock()
		return
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}))
	if err != nil {
		r.mu.Unlock()
		log.Printf("warn: cannot dial %s: %v", target, err)
		return
	}
	old := r.conn
	r.target, r.conn, r.client = target, conn, pb.NewResultServiceClient(conn)
	pending := make([]*pb.TaskResult, 0, len(r.unconfirmed))
	for _, res := range r.unconfirmed {
		pending = append(pending, res)
	}
	r.mu.Unlock()
	logf("info", "result service target set: %s", target)
	if old != nil {
		_ = old.Close()
	}
	for _, res := range pending {
		go r.deliver(res, time.Now().Add(24*time.Hour))
	}
}

// current is the ResultService client, waiting up to wait for a target.
func (r *reporter) current(wait time.Duration) pb.ResultServiceClient {
	until := time.Now().Add(wait)
	for {
		r.mu.Lock()
		c, closed := r.client, r.closed
		r.mu.Unlock()
		if c != nil || closed || time.Now().After(until) {
			return c
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *reporter) pending(k attemptKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.unconfirmed[k]
	return ok && !r.closed
}

func (r *reporter) confirm(k attemptKey) {
	r.mu.Lock()
	delete(r.unconfirmed, k)
	r.mu.Unlock()
}

// deliver re-sends a final with SubmitResult until the master answers (any disposition).
func (r *reporter) deliver(res *pb.TaskResult, giveUp time.Time) {
	k := attemptKey{res.TaskId, res.Attempt}
	backoff := 100 * time.Millisecond
	for r.pending(k) {
		if c := r.current(time.Second); c != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			resp, err := c.SubmitResult(ctx, res)
			cancel()
			if err == nil {
				r.confirm(k)
				if resp.Disposition == pb.Disposition_DISPOSITION_REJECTED {
					logf("info", "final result rejected: %s", resp.Reason)
				}
				return
			}
			if status.Code(err) == codes.InvalidArgument {
				r.confirm(k)
				return
			}
		}
		if time.Now().After(giveUp) {
			return
		}
		time.Sleep(backoff)
		if backoff *= 2; backoff > 5*time.Second {
			backoff = 5 * time.Second
		}
	}
}

func (r *reporter) unconfirmedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.unconfirmed)
}

func (r *reporter) waitConfirmed(d time.Duration) bool {
	until := time.Now().Add(d)
	for {
		r.mu.Lock()
		n := len(r.unconfirmed)
		r.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(until) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *reporter) close() {
	r.mu.Lock()
	r.closed = true
	conn := r.conn
	r.conn, r.client = nil, nil
	r.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// attemptStream is the StreamResults call(s) of one attempt.
type attemptStream struct {
	r       *reporter
	mu      sync.Mutex
	stream  pb.ResultService_StreamResultsClient
	cancel  context.CancelFunc
	pending []*pb.ResultEvent
}

func (s *attemptStream) send(ev *pb.ResultEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, ev)
	if s.stream == nil {
		c := s.r.current(0)
		if c == nil {
			return // no target yet: sent with the next event
		}
		ctx, cancel := context.WithCancel(context.Background())
		st, err := c.StreamResults(ctx)
		if err != nil {
			cancel()
			return
		}
		s.stream, s.cancel = st, cancel
	}
	if err := s.stream.Send(&pb.ResultBatch{Events: s.pending}); err != nil {
		s.cancel()
		s.stream = nil // broken: the next event opens a new stream
	}
	s.pending = nil
}

// finish sends the final, half-closes and waits for the confirmation, else SubmitResult.
func (s *attemptStream) finish(final *pb.ResultEvent, res *pb.TaskResult, giveUp time.Time) {
	k := attemptKey{res.TaskId, res.Attempt}
	s.r.mu.Lock()
	s.r.unconfirmed[k] = res
	s.r.mu.Unlock()
	s.send(final)
	s.mu.Lock()
	st, cancel := s.stream, s.cancel
	s.mu.Unlock()
	if st != nil {
		done := make(chan error, 1)
		go func() {
			_, err := st.CloseAndRecv()
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				cancel()
				s.r.confirm(k)
				return
			}
		case <-time.After(10 * time.Second):
		}
		cancel()
	}
	s.r.deliver(res, giveUp)
}
