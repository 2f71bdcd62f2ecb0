package main

// Log lines (PROTOCOL.md section 13.1): one JSON line each on stderr and, once
// the worker is connected, a LogLine on {root}/logs/{worker id} (QoS 0, info
// and above), as the TypeScript and Python workers do, so the master keeps
// them (GET /api/v1/logs). TASKWIRE_LOG_LEVEL (default info) drops what is
// below it, on both. Only ts, level, source, msg and task_id travel on MQTT,
// never the other fields of a line.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

var logSource = "worker"

// logRanks are the levels of TASKWIRE_LOG_LEVEL, pino's numbers.
var logRanks = map[string]int32{"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60, "silent": 70}

// logMin is the lowest rank written (TASKWIRE_LOG_LEVEL).
var logMin atomic.Int32

// logShip publishes one LogLine payload on the worker's log topic; nil before connect and after close.
var logShip atomic.Pointer[func(payload []byte)]

const (
	// Lines below info stay on stderr (the TypeScript worker's rule).
	shipRank = 30
	// The master keeps 8 KiB of a message; a LogLine payload is at most 64 KiB (section 14).
	maxShippedMsg = 8192
)

func init() { logMin.Store(shipRank) }

func logRank(level string) int32 {
	if r, ok := logRanks[level]; ok {
		return r
	}
	return shipRank
}

// logEnabled says whether a line at level is written at all (so callers build nothing otherwise).
func logEnabled(level string) bool { return logRank(level) >= logMin.Load() }

// logf writes one log line.
func logf(level, format string, args ...interface{}) {
	logFields(level, nil, format, args...)
}

// logFields is logf with fields of its own (an attempt's task_id and trace_id).
func logFields(level string, fields map[string]string, format string, args ...interface{}) {
	if !logEnabled(level) {
		return
	}
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	msg := fmt.Sprintf(format, args...)
	m := map[string]string{"ts": ts, "level": level, "source": logSource, "msg": msg}
	for k, v := range fields {
		if v != "" {
			m[k] = v
		}
	}
	line, _ := json.Marshal(m)
	fmt.Fprintln(os.Stderr, string(line))
	if ship := logShip.Load(); ship != nil && logRank(level) >= shipRank {
		(*ship)(shippedLine(ts, level, msg, fields["task_id"]))
	}
}

// shippedLine is the LogLine JSON of one line (proto3 JSON, empty task_id left out).
func shippedLine(ts, level, msg, taskID string) []byte {
	if len(msg) > maxShippedMsg {
		msg = strings.ToValidUTF8(msg[:maxShippedMsg], "")
	}
	payload, _ := json.Marshal(struct {
		Ts     string `json:"ts"`
		Level  string `json:"level"`
		Source string `json:"source"`
		Msg    string `json:"msg"`
		TaskID string `json:"task_id,omitempty"`
	}{ts, level, logSource, msg, taskID})
	return payload
}
