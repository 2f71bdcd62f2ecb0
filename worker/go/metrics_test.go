package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

func TestSummaryHasTheTypeScriptNamesAndBounds(t *testing.T) {
	m := newWorkerMetrics("w1", func() float64 { return 2 }, 8)
	m.attempt("echo", "succeeded", 0.003, "")
	m.attempt("echo", "failed", 2, "BAD_INPUT")
	m.attempt("sleep", "failed", 1, "not a code")
	fams := map[string]*pb.MetricFamily{}
	for _, f := range m.summary().Families {
		fams[f.Name] = f
		for _, s := range f.Samples {
			if _, has := s.Labels["worker_id"]; has {
				t.Fatalf("%s: worker_id in the summary (the master adds it)", f.Name)
			}
		}
	}
	h := fams["taskwire_worker_handler_seconds"]
	if h == nil || h.Type != pb.MetricType_METRIC_TYPE_HISTOGRAM || len(h.Bounds) != len(handlerBuckets) || h.Bounds[0] != 0.0005 {
		t.Fatalf("handler histogram: %v", h)
	}
	for _, s := range h.Samples {
		if s.Labels["kind"] == "echo" && s.Labels["outcome"] == "succeeded" && (s.Count != 1 || s.Buckets[2] != 1 || s.Buckets[1] != 0) {
			t.Fatalf("echo succeeded sample: %v", s)
		}
	}
	codes := map[string]float64{}
	for _, s := range fams["taskwire_worker_task_failures_total"].Samples {
		codes[s.Labels["code"]] += s.Value
	}
	if codes["BAD_INPUT"] != 1 || codes["OTHER"] != 1 {
		t.Fatalf("failure codes: %v", codes)
	}
	if fams["taskwire_worker_capacity"].Samples[0].Value != 8 || fams["taskwire_worker_tasks_running"].Samples[0].Value != 2 {
		t.Fatal("running/capacity gauges")
	}
	if fams["taskwire_worker_process_resident_memory_bytes"] == nil || fams["taskwire_worker_process_cpu_seconds_total"] == nil {
		t.Fatal("process CPU and memory go along")
	}
	if fams["taskwire_worker_process_open_fds"] != nil {
		t.Fatal("other process families stay on the port")
	}
}

func TestMetricsPortServesTextFormatWithWorkerID(t *testing.T) {
	m := newWorkerMetrics("w-port", func() float64 { return 0 }, 3)
	m.attempt("echo", "succeeded", 0.01, "")
	srv, addr, err := m.serveMetrics("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	text := string(body)
	for _, want := range []string{
		`taskwire_worker_tasks_total{kind="echo",outcome="succeeded",worker_id="w-port"} 1`,
		`taskwire_worker_capacity{worker_id="w-port"} 3`,
		`taskwire_worker_handler_seconds_bucket{kind="echo",outcome="succeeded",worker_id="w-port",le="0.01"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("missing %q in\n%s", want, text)
		}
	}
	if res, _ := http.Get("http://" + addr.String() + "/other"); res.StatusCode != 404 {
		t.Fatalf("/other: %d", res.StatusCode)
	}
}

func TestTraceparent(t *testing.T) {
	sc, ok := parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if !ok || sc.traceID != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.spanID != "00f067aa0ba902b7" {
		t.Fatalf("parsed %v %v", sc, ok)
	}
	for _, bad := range []string{"", "x", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"} {
		if _, ok := parseTraceparent(bad); ok {
			t.Fatalf("%q accepted", bad)
		}
	}
}
