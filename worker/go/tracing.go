package main

// W3C trace context for attempts (docs/OBSERVABILITY.md, "Traces"): an
// assignment's traceparent (TaskAssignment.traceparent, the master's attempt
// span) is continued by a `taskwire.worker.run` span (kind CONSUMER) exported
// over OTLP/HTTP JSON when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT)
// is set, like the TypeScript worker's. Unset: no exporter, no goroutine; the
// trace id still goes into the attempt's log lines. A small exporter of its
// own (one span kind, batched, bounded queue) rather than the OpenTelemetry SDK.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

var traceparentPattern = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

type spanContext struct{ traceID, spanID string }

// parseTraceparent returns the trace and parent span of a version-00 traceparent, or false
// (malformed, all-zero ids).
func parseTraceparent(tp string) (spanContext, bool) {
	m := traceparentPattern.FindStringSubmatch(strings.TrimSpace(tp))
	if m == nil || m[1] == strings.Repeat("0", 32) || m[2] == strings.Repeat("0", 16) {
		return spanContext{}, false
	}
	return spanContext{m[1], m[2]}, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type otlpAttr struct {
	Key   string         `json:"key"`
	Value map[string]any `json:"value"`
}

type otlpSpan struct {
	TraceID           string     `json:"traceId"`
	SpanID            string     `json:"spanId"`
	ParentSpanID      string     `json:"parentSpanId,omitempty"`
	Name              string     `json:"name"`
	Kind              int        `json:"kind"`
	StartTimeUnixNano string     `json:"startTimeUnixNano"`
	EndTimeUnixNano   string     `json:"endTimeUnixNano"`
	Attributes        []otlpAttr `json:"attributes"`
	Status            struct {
		Code int `json:"code"`
	} `json:"status"`
}

func strAttr(k, v string) otlpAttr { return otlpAttr{k, map[string]any{"stringValue": v}} }
func intAttr(k string, v int64) otlpAttr {
	return otlpAttr{k, map[string]any{"intValue": strconv.FormatInt(v, 10)}}
}

const (
	spanKindConsumer = 5
	maxQueuedSpans   = 2048
	spanBatch        = 256
)

// tracer exports finished spans in batches (every second, or spanBatch at once).
type tracer struct {
	endpoint, service, workerID string
	client                      *http.Client
	mu                          sync.Mutex
	queue                       []otlpSpan
	wake                        chan struct{}
	stop                        chan struct{}
	done                        chan struct{}
	dropped                     int
}

func newTracer(endpoint, service, workerID string) *tracer {
	if endpoint == "" {
		return nil
	}
	t := &tracer{endpoint: endpoint, service: service, workerID: workerID, client: &http.Client{Timeout: 10 * time.Second},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go t.loop()
	return t
}

// runSpan is the attempt's span: a child of the assignment's traceparent when it has one.
type runSpan struct {
	span  otlpSpan
	start time.Time
}

func (t *tracer) startRun(parent spanContext, hasParent bool, attrs ...otlpAttr) *runSpan {
	if t == nil {
		return nil
	}
	s := &runSpan{start: time.Now()}
	s.span = otlpSpan{TraceID: parent.traceID, SpanID: randomHex(8), Name: "taskwire.worker.run", Kind: spanKindConsumer, Attributes: attrs}
	if hasParent {
		s.span.ParentSpanID = parent.spanID
	} else {
		s.span.TraceID = randomHex(16)
	}
	return s
}

// end finishes the span (status error with a code) and queues it for export.
func (t *tracer) end(s *runSpan, outcome, code string) {
	if t == nil || s == nil {
		return
	}
	s.span.StartTimeUnixNano = strconv.FormatInt(s.start.UnixNano(), 10)
	s.span.EndTimeUnixNano = strconv.FormatInt(time.Now().UnixNano(), 10)
	s.span.Attributes = append(s.span.Attributes, strAttr("taskwire.outcome", outcome))
	if code != "" {
		s.span.Attributes = append(s.span.Attributes, strAttr("taskwire.error_code", code))
		if outcome == "failed" {
			s.span.Status.Code = 2 // ERROR
		}
	}
	t.mu.Lock()
	if len(t.queue) >= maxQueuedSpans {
		t.dropped++
	} else {
		t.queue = append(t.queue, s.span)
	}
	full := len(t.queue) >= spanBatch
	t.mu.Unlock()
	if full {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

func (t *tracer) loop() {
	defer close(t.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-t.wake:
		case <-t.stop:
			t.flush()
			return
		}
		t.flush()
	}
}

func (t *tracer) flush() {
	t.mu.Lock()
	spans := t.queue
	t.queue = nil
	t.mu.Unlock()
	for len(spans) > 0 {
		n := min(len(spans), spanBatch)
		t.post(spans[:n])
		spans = spans[n:]
	}
}

func (t *tracer) post(spans []otlpSpan) {
	body, _ := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"resource":   map[string]any{"attributes": []otlpAttr{strAttr("service.name", t.service), strAttr("service.instance.id", t.workerID), strAttr("telemetry.sdk.language", "go")}},
		"scopeSpans": []any{map[string]any{"scope": map[string]any{"name": "taskwire-worker-go", "version": version}, "spans": spans}},
	}}})
	req, err := http.NewRequest(http.MethodPost, t.endpoint, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("content-type", "application/json")
	for _, kv := range strings.Split(os.Getenv("OTEL_EXPORTER_OTLP_HEADERS"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	res, err := t.client.Do(req)
	if err != nil {
		logf("warn", "trace export failed: %v", err)
		return
	}
	_ = res.Body.Close()
	if res.StatusCode >= 300 {
		logf("warn", "trace export refused: HTTP %d", res.StatusCode)
	}
}

// close exports what is queued (bounded by the client's timeout).
func (t *tracer) close() {
	if t == nil {
		return
	}
	close(t.stop)
	<-t.done
}
