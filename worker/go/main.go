// Command taskwire-worker is a taskwire protocol v1 worker in Go, a Go module
// over paho.mqtt.golang, grpc-go and protobuf-go (code in gen/ generated from
// proto/ by gen_stubs.sh). It runs echo and sleep, serves its metrics
// (TASKWIRE_METRICS_PORT, metrics.go) and continues the assignment's trace
// (tracing.go).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

var logSource = "worker"

// logf writes one JSON log line to stderr.
func logf(level, format string, args ...interface{}) {
	logFields(level, nil, format, args...)
}

// logFields is logf with fields of its own (an attempt's task_id and trace_id).
func logFields(level string, fields map[string]string, format string, args ...interface{}) {
	m := map[string]string{
		"ts": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "level": level, "source": logSource, "msg": fmt.Sprintf(format, args...),
	}
	for k, v := range fields {
		if v != "" {
			m[k] = v
		}
	}
	line, _ := json.Marshal(m)
	fmt.Fprintln(os.Stderr, string(line))
}

func main() {
	cfg, err := configFromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "taskwire worker: %v\n", err)
		os.Exit(2)
	}
	logSource = cfg.workerID
	w := newWorker(cfg)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if err := w.start(); err != nil {
		fmt.Fprintf(os.Stderr, "taskwire worker: %v\n", err)
		os.Exit(2)
	}
	<-stop
	logf("info", "shutting down")
	w.close()
}
