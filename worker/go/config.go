package main

// Worker configuration from TASKWIRE_* environment variables, validated once;
// a wrong value stops the worker with a message naming the variable.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
)

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	rootPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
)

type config struct {
	workerID        string
	mqttHost        string
	mqttPort        int
	mqttUsername    string
	mqttPassword    string
	grpcTarget      string // empty: from the retained MasterStatus
	topicRoot       string
	capacity        int
	shutdownGraceMs int
	statusEveryMs   int
	metricsPort     int    // -1: no port of its own (TASKWIRE_METRICS_PORT unset); 0: any free port
	metricsHost     string // TASKWIRE_METRICS_HOST, default 0.0.0.0
	metricsSummary  bool   // TASKWIRE_METRICS_SUMMARY=on: metrics in the status, for the master's /metrics
	otlpEndpoint    string // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; empty: no spans
	serviceName     string // OTEL_SERVICE_NAME, default taskwire-worker
	logLevel        string // TASKWIRE_LOG_LEVEL: trace, debug, info (default), warn, error, fatal, silent
	imageMaxPixels  int    // TASKWIRE_IMAGE_MAX_PIXELS: width × height an image may have (default 100 M)
	maxBlobBytes    int    // TASKWIRE_MAX_BLOB_BYTES: the largest input blob fetched (default 50 MiB, the master's)
}

type configError struct{ variable, message string }

func (e *configError) Error() string { return e.variable + ": " + e.message }

func secret(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	if path := os.Getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", &configError{name + "_FILE", fmt.Sprintf("cannot read %s: %v", path, err)}
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func intEnv(name string, def, lo, hi int) (int, error) {
	raw := os.Getenv(name)
	if raw == "" {
		return def, nil
	}
	v, err := strconv.Atoi(raw)
	if err != nil {
		return 0, &configError{name, fmt.Sprintf("must be an integer, got %q", raw)}
	}
	if v < lo || v > hi {
		return 0, &configError{name, fmt.Sprintf("must be from %d to %d, got %d", lo, hi, v)}
	}
	return v, nil
}

func boolEnv(name string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
	case "", "0", "false", "off", "no":
		return false, nil
	case "1", "true", "on", "yes":
		return true, nil
	}
	return false, &configError{name, fmt.Sprintf("must be on or off, got %q", os.Getenv(name))}
}

// otlpTracesEndpoint follows the OpenTelemetry variables: off when disabled or unset.
func otlpTracesEndpoint() (string, error) {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return "", nil
	}
	name, ep := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if ep == "" {
		name, ep = "OTEL_EXPORTER_OTLP_ENDPOINT", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
		if ep == "" {
			return "", nil
		}
		ep = strings.TrimRight(ep, "/") + "/v1/traces"
	}
	if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &configError{name, fmt.Sprintf("expected an http(s) URL, got %q", ep)}
	}
	return ep, nil
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	host = regexp.MustCompile(`[^A-Za-z0-9._-]`).ReplaceAllString(host, "-")
	if len(host) > 64 {
		host = host[:64]
	}
	if host == "" || !idPattern.MatchString(host[:1]) {
		host = "worker"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func configFromEnv() (*config, error) {
	c := &config{workerID: os.Getenv("TASKWIRE_WORKER_ID")}
	if c.workerID == "" {
		c.workerID = defaultWorkerID()
	}
	if !idPattern.MatchString(c.workerID) {
		return nil, &configError{"TASKWIRE_WORKER_ID", fmt.Sprintf("%q must match %s", c.workerID, idPattern)}
	}
	master := os.Getenv("TASKWIRE_MASTER")
	if master == "" {
		master = "127.0.0.1"
	}
	raw := os.Getenv("TASKWIRE_MQTT_URL")
	if raw == "" {
		raw = "mqtt://" + master + ":1883"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "tcp") || u.Hostname() == "" {
		return nil, &configError{"TASKWIRE_MQTT_URL", fmt.Sprintf("expected mqtt://host:port, got %q", raw)}
	}
	c.mqttHost = u.Hostname()
	c.mqttPort = 1883
	if p := u.Port(); p != "" {
		if c.mqttPort, err = strconv.Atoi(p); err != nil {
			return nil, &configError{"TASKWIRE_MQTT_URL", fmt.Sprintf("bad port in %q", raw)}
		}
	}
	if c.mqttPassword, err = secret("TASKWIRE_MQTT_PASSWORD"); err != nil {
		return nil, err
	}
	if c.mqttPassword == "" {
		if c.mqttPassword, err = secret("TASKWIRE_CLUSTER_TOKEN"); err != nil {
			return nil, err
		}
	}
	c.mqttUsername = os.Getenv("TASKWIRE_MQTT_USERNAME")
	if c.mqttUsername == "" && c.mqttPassword != "" {
		c.mqttUsername = c.workerID
	}
	if g := os.Getenv("TASKWIRE_GRPC_URL"); g != "" {
		g = strings.TrimPrefix(strings.TrimPrefix(g, "grpc://"), "http://")
		i := strings.LastIndex(g, ":")
		if i <= 0 {
			return nil, &configError{"TASKWIRE_GRPC_URL", fmt.Sprintf("expected host:port, got %q", g)}
		}
		if p, err := strconv.Atoi(g[i+1:]); err != nil || p <= 0 || p > 65535 {
			return nil, &configError{"TASKWIRE_GRPC_URL", fmt.Sprintf("expected host:port, got %q", g)}
		}
		c.grpcTarget = g
	}
	c.topicRoot = os.Getenv("TASKWIRE_TOPIC_ROOT")
	if c.topicRoot == "" {
		c.topicRoot = "taskwire/v1"
	}
	if !rootPattern.MatchString(c.topicRoot) {
		return nil, &configError{"TASKWIRE_TOPIC_ROOT", fmt.Sprintf("%q must be '/'-separated levels without wildcards", c.topicRoot)}
	}
	if c.capacity, err = intEnv("TASKWIRE_WORKER_CAPACITY", 8, 1, 10000); err != nil {
		return nil, err
	}
	if c.shutdownGraceMs, err = intEnv("TASKWIRE_SHUTDOWN_GRACE_MS", 10000, 0, 3600000); err != nil {
		return nil, err
	}
	if c.statusEveryMs, err = intEnv("TASKWIRE_STATUS_INTERVAL_MS", 15000, 100, 3600000); err != nil {
		return nil, err
	}
	if c.metricsPort, err = intEnv("TASKWIRE_METRICS_PORT", -1, 0, 65535); err != nil {
		return nil, err
	}
	if c.metricsHost = os.Getenv("TASKWIRE_METRICS_HOST"); c.metricsHost == "" {
		c.metricsHost = "0.0.0.0"
	}
	if c.metricsSummary, err = boolEnv("TASKWIRE_METRICS_SUMMARY"); err != nil {
		return nil, err
	}
	if c.otlpEndpoint, err = otlpTracesEndpoint(); err != nil {
		return nil, err
	}
	if c.serviceName = os.Getenv("OTEL_SERVICE_NAME"); c.serviceName == "" {
		c.serviceName = "taskwire-worker"
	}
	if c.imageMaxPixels, err = intEnv("TASKWIRE_IMAGE_MAX_PIXELS", 100_000_000, 1, 1<<40); err != nil {
		return nil, err
	}
	if c.maxBlobBytes, err = intEnv("TASKWIRE_MAX_BLOB_BYTES", 50*1024*1024, 1, 1<<40); err != nil {
		return nil, err
	}
	if c.logLevel = strings.ToLower(os.Getenv("TASKWIRE_LOG_LEVEL")); c.logLevel == "" {
		c.logLevel = "info"
	}
	if _, ok := logRanks[c.logLevel]; !ok {
		return nil, &configError{"TASKWIRE_LOG_LEVEL", fmt.Sprintf("must be one of trace, debug, info, warn, error, fatal, silent, got %q", c.logLevel)}
	}
	return c, nil
}
