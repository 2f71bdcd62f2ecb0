package main

// The worker's own metrics (docs/OBSERVABILITY.md, "Worker metrics"), with the
// TypeScript worker's names, labels and bucket bounds, in a
// prometheus/client_golang registry: attempts by kind and outcome, failures by
// code, handler time, running and capacity, and the process's CPU and memory
// (taskwire_worker_process_*). Every series carries worker_id. Served on
// TASKWIRE_METRICS_PORT (serveMetrics) and, with TASKWIRE_METRICS_SUMMARY=on,
// sent as WorkerStatus.metrics (summary) for the master's /metrics.

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

// handlerBuckets are the TypeScript worker's bounds (worker/metrics-registry.ts), so the
// master aggregates every worker's histogram in one family.
var handlerBuckets = []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600}

var codeLabel = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,47}$`)

// maxSummarySamples bounds a summary like the TypeScript worker's (MAX_SAMPLES).
const maxSummarySamples = 500

// summaryDefaults are the process families that go along in a summary (the TypeScript worker's choice).
var summaryDefaults = map[string]bool{
	"taskwire_worker_process_cpu_seconds_total":     true,
	"taskwire_worker_process_resident_memory_bytes": true,
}

type workerMetrics struct {
	reg      *prometheus.Registry
	tasks    *prometheus.CounterVec
	failures *prometheus.CounterVec
	handler  *prometheus.HistogramVec
}

// newWorkerMetrics builds the registry; running and capacity are read when gathered.
func newWorkerMetrics(workerID string, running func() float64, capacity float64) *workerMetrics {
	m := &workerMetrics{reg: prometheus.NewRegistry()}
	r := prometheus.WrapRegistererWith(prometheus.Labels{"worker_id": workerID}, m.reg)
	m.tasks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "taskwire_worker_tasks_total", Help: "Attempts this worker finished, by kind and outcome"}, []string{"kind", "outcome"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "taskwire_worker_task_failures_total", Help: "Failed attempts by kind and error code"}, []string{"kind", "code"})
	m.handler = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "taskwire_worker_handler_seconds", Help: "Handler time of an attempt (start to final), by kind and outcome", Buckets: handlerBuckets}, []string{"kind", "outcome"})
	r.MustRegister(m.tasks, m.failures, m.handler,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "taskwire_worker_tasks_running", Help: "Attempts running now"}, running),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "taskwire_worker_capacity", Help: "Attempts this worker runs at once"}, func() float64 { return capacity }),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "taskwire_worker"}),
	)
	return m
}

// attempt records one finished attempt (outcome: succeeded, failed, cancelled).
func (m *workerMetrics) attempt(kind, outcome string, seconds float64, code string) {
	if seconds < 0 {
		seconds = 0
	}
	m.tasks.WithLabelValues(kind, outcome).Inc()
	m.handler.WithLabelValues(kind, outcome).Observe(seconds)
	if outcome == "failed" {
		if !codeLabel.MatchString(code) {
			code = "OTHER"
		}
		m.failures.WithLabelValues(kind, code).Inc()
	}
}

// outcomeLabel is the metrics' name of a TaskOutcome.
func outcomeLabel(o pb.TaskOutcome) string {
	switch o {
	case pb.TaskOutcome_TASK_OUTCOME_SUCCEEDED:
		return "succeeded"
	case pb.TaskOutcome_TASK_OUTCOME_CANCELLED:
		return "cancelled"
	default:
		return "failed"
	}
}

// summary is the compact copy for WorkerStatus.metrics: every taskwire_worker_* family
// except the process ones not kept, worker_id left out (the master adds it).
func (m *workerMetrics) summary() *pb.MetricsSummary {
	out := &pb.MetricsSummary{}
	fams, err := m.reg.Gather()
	if err != nil {
		logf("warn", "metrics: %v", err)
	}
	budget := maxSummarySamples
	for _, f := range fams {
		name := f.GetName()
		if !strings.HasPrefix(name, "taskwire_worker_") || (strings.HasPrefix(name, "taskwire_worker_process_") && !summaryDefaults[name]) {
			continue
		}
		fam := &pb.MetricFamily{Name: name, Help: f.GetHelp()}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			fam.Type = pb.MetricType_METRIC_TYPE_COUNTER
		case dto.MetricType_GAUGE:
			fam.Type = pb.MetricType_METRIC_TYPE_GAUGE
		case dto.MetricType_HISTOGRAM:
			fam.Type = pb.MetricType_METRIC_TYPE_HISTOGRAM
		default:
			continue
		}
		for i, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				if l.GetName() != "worker_id" {
					labels[l.GetName()] = l.GetValue()
				}
			}
			sample := &pb.MetricSample{Labels: labels}
			switch fam.Type {
			case pb.MetricType_METRIC_TYPE_COUNTER:
				sample.Value = s.GetCounter().GetValue()
			case pb.MetricType_METRIC_TYPE_GAUGE:
				sample.Value = s.GetGauge().GetValue()
			default:
				h := s.GetHistogram()
				sample.Value, sample.Count = h.GetSampleSum(), float64(h.GetSampleCount())
				for _, b := range h.GetBucket() {
					if i == 0 && len(fam.Bounds) < len(h.GetBucket()) {
						fam.Bounds = append(fam.Bounds, b.GetUpperBound())
					}
					sample.Buckets = append(sample.Buckets, float64(b.GetCumulativeCount()))
				}
			}
			fam.Samples = append(fam.Samples, sample)
			if budget--; budget == 0 {
				break
			}
		}
		if len(fam.Samples) > 0 {
			out.Families = append(out.Families, fam)
		}
		if budget <= 0 {
			break
		}
	}
	sort.SliceStable(out.Families, func(i, j int) bool { return out.Families[i].Name < out.Families[j].Name })
	return out
}

// serveMetrics serves GET /metrics on host:port (0: any free port) and returns the bound address.
func (m *workerMetrics) serveMetrics(host string, port int) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	return srv, ln.Addr(), nil
}
