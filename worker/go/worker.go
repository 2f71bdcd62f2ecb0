package main

// The worker's MQTT side (PROTOCOL.md sections 6, 7.1, 10, 12): client id =
// username = worker id, clean session, keep-alive 10 s, an OFFLINE Last Will;
// on every (re)connect it subscribes, waits for the SUBACK, then publishes its
// retained ONLINE status.

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

const (
	version         = "0.1.0"
	maxStatusBytes  = 64 * 1024
	maxTasksBytes   = 4 * 1024 * 1024
	maxControlBytes = 16 * 1024
	maxMasterBytes  = 16 * 1024
)

type worker struct {
	cfg        *config
	startedAt  int64
	hostname   string
	kinds      []string
	features   []string // WorkerStatus.features: the image kind's operations and formats
	rep        *reporter
	routes     *routes
	run        *runner
	client     mqtt.Client
	mu         sync.Mutex
	state      pb.WorkerState
	reason     string
	closing    bool
	soon       *time.Timer
	topics     struct{ status, tasks, control, master, log string }
	metrics    *workerMetrics
	tracer     *tracer
	metricsSrv *http.Server
}

func newWorker(cfg *config) *worker {
	w := &worker{cfg: cfg, startedAt: nowMs(), rep: newReporter(), routes: newRoutes(routeIdle, routeSweep), state: pb.WorkerState_WORKER_STATE_ONLINE}
	w.hostname, _ = os.Hostname()
	handlers := map[string]handler{"echo": echoHandler, "sleep": sleepHandler,
		"image": newImageHandler(imageLimits{maxPixels: int64(cfg.imageMaxPixels), maxBytes: int64(cfg.maxBlobBytes)})}
	w.features = imageFeatures()
	for k := range handlers {
		w.kinds = append(w.kinds, k)
	}
	sort.Strings(w.kinds)
	w.run = &runner{workerID: cfg.workerID, handlers: handlers, rep: w.rep, routes: w.routes, onChange: w.statusSoon, running: map[attemptKey]*attempt{}}
	if cfg.metricsPort >= 0 || cfg.metricsSummary {
		w.metrics = newWorkerMetrics(cfg.workerID, func() float64 { return float64(w.runningCount()) }, float64(cfg.capacity))
		w.run.metrics = w.metrics
	}
	w.tracer = newTracer(cfg.otlpEndpoint, cfg.serviceName, cfg.workerID)
	w.run.tracer = w.tracer
	base := cfg.topicRoot + "/workers/" + cfg.workerID
	w.topics.status, w.topics.tasks, w.topics.control = base+"/status", base+"/tasks", base+"/control"
	w.topics.master = cfg.topicRoot + "/master/status"
	w.topics.log = cfg.topicRoot + "/logs/" + cfg.workerID
	opts := mqtt.NewClientOptions().
		AddBroker(fmt.Sprintf("tcp://%s:%d", bracket(cfg.mqttHost), cfg.mqttPort)).
		SetClientID(cfg.workerID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetKeepAlive(10*time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(2*time.Second).
		SetConnectTimeout(10*time.Second).
		SetBinaryWill(w.topics.status, encode(w.status(pb.WorkerState_WORKER_STATE_OFFLINE, "connection lost")), 1, true).
		SetOnConnectHandler(w.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { logf("warn", "MQTT connection lost (%v); reconnecting", err) })
	if cfg.mqttUsername != "" || cfg.mqttPassword != "" {
		opts.SetUsername(cfg.mqttUsername).SetPassword(cfg.mqttPassword)
	}
	w.client = mqtt.NewClient(opts)
	return w
}

func bracket(host string) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		return "[" + host + "]"
	}
	return host
}

func (w *worker) status(state pb.WorkerState, reason string) *pb.WorkerStatus {
	return w.statusWith(state, reason, true)
}

// statusWith builds the status; withSummary adds the metrics summary (the periodic and the
// connect status carry it; the coalesced running-count updates leave it out, the master keeps the last).
func (w *worker) statusWith(state pb.WorkerState, reason string, withSummary bool) *pb.WorkerStatus {
	s := w.plainStatus(state, reason)
	if withSummary && w.cfg.metricsSummary && w.metrics != nil && state != pb.WorkerState_WORKER_STATE_OFFLINE {
		s.Metrics = w.metrics.summary()
	}
	return s
}

func (w *worker) plainStatus(state pb.WorkerState, reason string) *pb.WorkerStatus {
	return &pb.WorkerStatus{
		WorkerId: w.cfg.workerID, State: state, Kinds: w.kinds, Capacity: uint32(w.cfg.capacity),
		Running: uint32(w.runningCount()), Language: "go", Version: version, Protocol: "taskwire.v1",
		Hostname: w.hostname, Pid: uint32(os.Getpid()), StartedAtMs: w.startedAt, TsMs: nowMs(), Reason: reason,
		Features: w.features,
	}
}

func (w *worker) runningCount() int {
	if w.run == nil {
		return 0
	}
	return w.run.size()
}

func (w *worker) publishStatus() mqtt.Token { return w.publishStatusWith(true) }

func (w *worker) publishStatusWith(withSummary bool) mqtt.Token {
	w.mu.Lock()
	state, reason, closing := w.state, w.reason, w.closing
	w.mu.Unlock()
	if closing || !w.client.IsConnected() {
		return nil
	}
	return w.client.Publish(w.topics.status, 1, true, encode(w.statusWith(state, reason, withSummary)))
}

// statusSoon re-publishes the status 250 ms from now (coalesced), so `running` stays current.
func (w *worker) statusSoon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.soon == nil {
		w.soon = time.AfterFunc(250*time.Millisecond, func() {
			w.mu.Lock()
			w.soon = nil
			w.mu.Unlock()
			w.publishStatusWith(false)
		})
	}
}

// onConnect runs on every (re)connect, in its own goroutine.
func (w *worker) onConnect(c mqtt.Client) {
	t := c.SubscribeMultiple(map[string]byte{w.topics.tasks: 1, w.topics.control: 1, w.topics.master: 1}, w.onMessage)
	t.Wait() // SUBACK before ONLINE
	if err := t.Error(); err != nil {
		logf("error", "subscribe failed: %v", err)
		return
	}
	w.publishStatus()
	// Log lines go on the worker's log topic from now on (logs.go); QoS 0, never waited for.
	ship := func(payload []byte) { c.Publish(w.topics.log, 0, false, payload) }
	w.mu.Lock()
	if !w.closing {
		logShip.Store(&ship)
	}
	w.mu.Unlock()
	logf("info", "worker online")
}

func (w *worker) onMessage(_ mqtt.Client, m mqtt.Message) {
	defer func() {
		if p := recover(); p != nil {
			logf("warn", "message on %s dropped: %v", m.Topic(), p)
		}
	}()
	var err error
	switch m.Topic() {
	case w.topics.master:
		err = w.onMasterStatus(m.Payload())
	case w.topics.tasks:
		err = w.onTasks(m.Payload())
	case w.topics.control:
		err = w.onControl(m.Payload())
	}
	if err != nil {
		logf("warn", "invalid message dropped on %s: %v", m.Topic(), err)
	}
}

func (w *worker) onMasterStatus(payload []byte) error {
	if len(payload) == 0 || w.cfg.grpcTarget != "" {
		return nil
	}
	var s pb.MasterStatus
	if err := decode(payload, &s, maxMasterBytes); err != nil {
		return err
	}
	if s.State != pb.MasterState_MASTER_STATE_ONLINE || s.GrpcPort == 0 {
		return nil
	}
	host := s.GrpcHost
	if host == "" {
		host = w.cfg.mqttHost
	}
	go w.rep.setTarget(fmt.Sprintf("%s:%d", bracket(host), s.GrpcPort))
	return nil
}

func (w *worker) onTasks(payload []byte) error {
	var batch pb.Assignments
	if err := decode(payload, &batch, maxTasksBytes); err != nil {
		return err
	}
	if len(batch.Tasks) == 0 {
		return fmt.Errorf("an Assignments message carries at least one task")
	}
	for _, a := range batch.Tasks {
		if a.TaskId == "" || a.Kind == "" || a.ResultToken == "" || a.Attempt < 1 {
			return fmt.Errorf("assignment without task_id, kind, attempt or result_token")
		}
	}
	// Multi-master: this message's master takes these attempts' results.
	target, err := resultTarget(batch.ResultTarget, w.cfg.mqttHost)
	if err != nil {
		return err
	}
	for _, a := range batch.Tasks {
		if !w.run.start(a, target) {
			logf("info", "duplicate assignment %s/%d ignored", a.TaskId, a.Attempt)
		}
	}
	w.statusSoon()
	return nil
}

func (w *worker) onControl(payload []byte) error {
	var c pb.ControlCommand
	if err := decode(payload, &c, maxControlBytes); err != nil {
		return err
	}
	switch c.Action {
	case pb.ControlAction_CONTROL_ACTION_CANCEL:
		w.run.cancelAttempt(c.TaskId, c.Attempt, c.Reason)
	case pb.ControlAction_CONTROL_ACTION_DRAIN, pb.ControlAction_CONTROL_ACTION_RESUME:
		w.mu.Lock()
		changed := false
		if c.Action == pb.ControlAction_CONTROL_ACTION_DRAIN && w.state == pb.WorkerState_WORKER_STATE_ONLINE {
			w.state, w.reason, changed = pb.WorkerState_WORKER_STATE_DRAINING, c.Reason, true
		} else if c.Action == pb.ControlAction_CONTROL_ACTION_RESUME && w.state == pb.WorkerState_WORKER_STATE_DRAINING {
			w.state, w.reason, changed = pb.WorkerState_WORKER_STATE_ONLINE, "", true
		}
		w.mu.Unlock()
		if changed {
			w.publishStatus()
		}
	}
	return nil
}

func (w *worker) start() error {
	if w.metrics != nil && w.cfg.metricsPort >= 0 {
		srv, addr, err := w.metrics.serveMetrics(w.cfg.metricsHost, w.cfg.metricsPort)
		if err != nil {
			return &configError{"TASKWIRE_METRICS_PORT", err.Error()}
		}
		w.metricsSrv = srv
		logf("info", "metrics on http://%s/metrics", addr)
	}
	if w.cfg.grpcTarget != "" {
		w.rep.setTarget(w.cfg.grpcTarget)
	}
	// The first connect is retried too (auto-reconnect only covers later drops).
	go func() {
		for {
			t := w.client.Connect()
			t.Wait()
			if t.Error() == nil {
				return
			}
			logf("warn", "MQTT connect failed: %v", t.Error())
			time.Sleep(time.Second)
		}
	}()
	go func() {
		for range time.Tick(time.Duration(w.cfg.statusEveryMs) * time.Millisecond) {
			w.publishStatus()
		}
	}()
	return nil
}

// close is the graceful stop of section 12.
func (w *worker) close() {
	w.mu.Lock()
	w.state, w.reason = pb.WorkerState_WORKER_STATE_DRAINING, "shutdown"
	w.mu.Unlock()
	if t := w.publishStatus(); t != nil {
		t.WaitTimeout(2 * time.Second)
	}
	grace := time.Duration(w.cfg.shutdownGraceMs) * time.Millisecond
	deliver := grace
	if deliver < time.Second {
		deliver = time.Second
	} else if deliver > 5*time.Second {
		deliver = 5 * time.Second
	}
	w.run.shutdown(grace, deliver)
	until := time.Now().Add(deliver)
	w.rep.waitConfirmed(deliver)
	w.routes.waitConfirmed(time.Until(until))
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	logShip.Store(nil)
	if w.client.IsConnected() {
		t := w.client.Publish(w.topics.status, 1, true, encode(w.status(pb.WorkerState_WORKER_STATE_OFFLINE, "shutdown")))
		t.WaitTimeout(3 * time.Second)
	}
	w.client.Disconnect(250)
	w.rep.close()
	w.routes.close()
	w.tracer.close()
	if w.metricsSrv != nil {
		_ = w.metricsSrv.Close()
	}
}
