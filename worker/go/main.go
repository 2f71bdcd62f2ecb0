// Command taskwire-worker is a taskwire protocol v1 worker in Go, a Go module
// over paho.mqtt.golang, grpc-go and protobuf-go (code in gen/ generated from
// proto/ by gen_stubs.sh). It runs echo and sleep, serves its metrics
// (TASKWIRE_METRICS_PORT, metrics.go) and continues the assignment's trace
// (tracing.go).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := configFromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "taskwire worker: %v\n", err)
		os.Exit(2)
	}
	logSource = cfg.workerID
	logMin.Store(logRanks[cfg.logLevel])
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
