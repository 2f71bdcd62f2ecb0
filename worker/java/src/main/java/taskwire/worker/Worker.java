package taskwire.worker;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.IMqttActionListener;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.IMqttToken;
import org.eclipse.paho.client.mqttv3.MqttAsyncClient;
import org.eclipse.paho.client.mqttv3.MqttCallbackExtended;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import taskwire.v1.Cluster.MasterState;
import taskwire.v1.Cluster.MasterStatus;
import taskwire.v1.Task.Assignments;
import taskwire.v1.Task.ControlAction;
import taskwire.v1.Task.ControlCommand;
import taskwire.v1.Task.TaskAssignment;
import taskwire.v1.Worker.ModelInfo;
import taskwire.v1.Worker.WorkerState;
import taskwire.v1.Worker.WorkerStatus;

/** MQTT side (PROTOCOL.md sections 4-6, 12): registration, assignments, control, status, shutdown. */
public final class Worker implements MqttCallbackExtended {
  public static final String VERSION = "0.1.0";
  static final int MAX_TASKS_BYTES = 4 * 1024 * 1024;
  static final int MAX_CONTROL_BYTES = 16 * 1024;
  static final int MAX_MASTER_BYTES = 16 * 1024;

  private final Config cfg;
  private final long startedAt = System.currentTimeMillis();
  private final String hostname;
  private final List<String> kinds;
  private final List<ModelInfo> models;
  private final List<String> features;
  private final Reporter reporter = new Reporter();
  final Routes routes;
  private final Runner runner;
  private final MqttAsyncClient client;
  private final String statusTopic;
  private final String tasksTopic;
  private final String controlTopic;
  private final String masterTopic;
  private final String logTopic;
  private WorkerState state = WorkerState.WORKER_STATE_ONLINE;
  private String reason = "";
  private boolean closing;
  private ScheduledFuture<?> soon;
  private volatile boolean connected;

  public Worker(Config cfg, Map<String, TaskHandler> handlers, List<ModelInfo> models) throws MqttException {
    this.cfg = cfg;
    this.models = models;
    String h;
    try {
      h = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      h = "";
    }
    hostname = h;
    List<String> k = new ArrayList<>(handlers.keySet());
    Collections.sort(k);
    kinds = k;
    // WorkerStatus.features: what each handler supports within its kind (the image operations and formats).
    List<String> f = new ArrayList<>();
    for (TaskHandler th : handlers.values()) f.addAll(th.features());
    Collections.sort(f);
    features = f;
    routes = new Routes(cfg.resultRouteIdleMs, Math.min(Routes.SWEEP_MS, cfg.resultRouteIdleMs));
    runner = new Runner(cfg.workerId, handlers, reporter, routes, this::statusSoon);
    String base = cfg.topicRoot + "/workers/" + cfg.workerId;
    statusTopic = base + "/status";
    tasksTopic = base + "/tasks";
    controlTopic = base + "/control";
    masterTopic = cfg.topicRoot + "/master/status";
    logTopic = cfg.topicRoot + "/logs/" + cfg.workerId;
    client = new MqttAsyncClient("tcp://" + Routes.bracket(cfg.mqttHost) + ":" + cfg.mqttPort, cfg.workerId, new MemoryPersistence());
    client.setCallback(this);
  }

  /** Attempts running now. */
  int running() {
    return runner == null ? 0 : runner.size();
  }

  WorkerStatus status(WorkerState s, String why) {
    return status(s, why, true);
  }

  /**
   * withSummary: the metrics summary goes along (the periodic and the connect status); the
   * coalesced running-count updates leave it out, the master keeps the last.
   */
  WorkerStatus status(WorkerState s, String why, boolean withSummary) {
    WorkerStatus.Builder b = WorkerStatus.newBuilder().setWorkerId(cfg.workerId).setState(s).addAllKinds(kinds)
        .setCapacity(cfg.capacity).setRunning(runner == null ? 0 : runner.size()).setLanguage("java").setVersion(VERSION)
        .setProtocol("taskwire.v1").setHostname(hostname).setPid((int) ProcessHandle.current().pid()).setStartedAtMs(startedAt)
        .setTsMs(System.currentTimeMillis()).addAllModels(models).addAllFeatures(features);
    if (why != null) b.setReason(why);
    if (withSummary && cfg.metricsSummary && s != WorkerState.WORKER_STATE_OFFLINE) b.setMetrics(Metrics.INSTANCE.summary(runner == null ? 0 : runner.size(), cfg.capacity));
    return b.build();
  }

  private MqttConnectOptions options() {
    MqttConnectOptions o = new MqttConnectOptions();
    o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
    o.setCleanSession(true);
    o.setKeepAliveInterval(10);
    o.setAutomaticReconnect(true);
    o.setMaxReconnectDelay(2000);
    o.setConnectionTimeout(10);
    o.setMaxInflight(1000);
    o.setWill(statusTopic, Codec.encode(status(WorkerState.WORKER_STATE_OFFLINE, "connection lost")), 1, true);
    if (cfg.mqttUsername != null) o.setUserName(cfg.mqttUsername);
    if (cfg.mqttPassword != null) o.setPassword(cfg.mqttPassword.toCharArray());
    return o;
  }

  IMqttDeliveryToken publishStatus() {
    return publishStatus(true);
  }

  IMqttDeliveryToken publishStatus(boolean withSummary) {
    WorkerState s;
    String why;
    synchronized (this) {
      if (closing) return null;
      s = state;
      why = reason;
    }
    return publish(status(s, why, withSummary));
  }

  private IMqttDeliveryToken publish(WorkerStatus st) {
    if (!client.isConnected()) return null;
    try {
      return client.publish(statusTopic, Codec.encode(st), 1, true);
    } catch (MqttException e) {
      Log.warn("status publish failed: " + e.getMessage());
      return null;
    }
  }

  /** Re-publishes the status 250 ms from now (coalesced), so `running` stays current. */
  synchronized void statusSoon() {
    if (soon != null) return;
    soon = Attempt.TIMERS.schedule(() -> {
      synchronized (this) {
        soon = null;
      }
      publishStatus(false);
    }, 250, TimeUnit.MILLISECONDS);
  }

  @Override
  public void connectComplete(boolean reconnect, String serverURI) {
    connected = true;
    try {
      client.subscribe(new String[] {tasksTopic, controlTopic, masterTopic}, new int[] {1, 1, 1}, null, new IMqttActionListener() {
        @Override
        public void onSuccess(IMqttToken token) {
          publishStatus(); // SUBACK before ONLINE
          shipLogs();
          Log.info(reconnect ? "worker online again" : "worker online");
        }

        @Override
        public void onFailure(IMqttToken token, Throwable e) {
          Log.log("error", "subscribe failed: " + e);
        }
      });
    } catch (MqttException e) {
      Log.log("error", "subscribe failed: " + e.getMessage());
    }
  }

  /** Log lines go on the worker's log topic from now on (Log); QoS 0, never waited for. */
  private synchronized void shipLogs() {
    if (closing) return;
    Log.ship = payload -> {
      try {
        client.publish(logTopic, payload, 0, false);
      } catch (MqttException e) {
        // not connected or too many in flight: the line is still on stderr
      }
    };
  }

  @Override
  public void connectionLost(Throwable cause) {
    connected = false;
    Log.warn("MQTT connection lost (" + cause + "); reconnecting");
  }

  @Override
  public void deliveryComplete(IMqttDeliveryToken token) {}

  @Override
  public void messageArrived(String topic, MqttMessage m) {
    try {
      if (topic.equals(masterTopic)) onMasterStatus(m.getPayload());
      else if (topic.equals(tasksTopic)) onTasks(m.getPayload());
      else if (topic.equals(controlTopic)) onControl(m.getPayload());
    } catch (Exception e) {
      Log.warn("invalid message dropped on " + topic + ": " + e.getMessage());
    }
  }

  private void onMasterStatus(byte[] payload) throws Exception {
    if (payload.length == 0 || cfg.grpcTarget != null) return;
    MasterStatus s = Codec.decode(payload, MasterStatus.newBuilder(), MAX_MASTER_BYTES).build();
    if (s.getState() != MasterState.MASTER_STATE_ONLINE || s.getGrpcPort() == 0) return;
    String target = Routes.bracket(s.getGrpcHost().isEmpty() ? cfg.mqttHost : s.getGrpcHost()) + ":" + s.getGrpcPort();
    Reporter.spawn("set-target", () -> reporter.setTarget(target));
  }

  /** An Assignments message; an exception (nothing started) says why the whole message is dropped. */
  void onTasks(byte[] payload) throws Exception {
    Assignments batch = Codec.decode(payload, Assignments.newBuilder(), MAX_TASKS_BYTES).build();
    if (batch.getTasksCount() == 0) throw new IllegalArgumentException("an Assignments message carries at least one task");
    for (TaskAssignment a : batch.getTasksList()) {
      if (a.getTaskId().isEmpty() || a.getKind().isEmpty() || a.getResultToken().isEmpty() || a.getAttempt() < 1) {
        throw new IllegalArgumentException("assignment without task_id, kind, attempt or result_token");
      }
    }
    // Multi-master: this message's master takes these attempts' results (":port": the broker's host).
    String target = Routes.resultTarget(batch.getResultTarget(), cfg.mqttHost);
    for (TaskAssignment a : batch.getTasksList()) {
      if (!runner.start(a, target)) Log.info("duplicate assignment " + a.getTaskId() + "/" + a.getAttempt() + " ignored");
    }
    statusSoon();
  }

  private void onControl(byte[] payload) throws Exception {
    ControlCommand c = Codec.decode(payload, ControlCommand.newBuilder(), MAX_CONTROL_BYTES).build();
    if (c.getAction() == ControlAction.CONTROL_ACTION_CANCEL) {
      runner.cancel(c.getTaskId(), c.getAttempt(), c.getReason());
      return;
    }
    boolean changed = false;
    synchronized (this) {
      if (c.getAction() == ControlAction.CONTROL_ACTION_DRAIN && state == WorkerState.WORKER_STATE_ONLINE) {
        state = WorkerState.WORKER_STATE_DRAINING;
        reason = c.getReason();
        changed = true;
      } else if (c.getAction() == ControlAction.CONTROL_ACTION_RESUME && state == WorkerState.WORKER_STATE_DRAINING) {
        state = WorkerState.WORKER_STATE_ONLINE;
        reason = "";
        changed = true;
      }
    }
    if (changed) publishStatus();
  }

  public void start() {
    if (cfg.grpcTarget != null) reporter.setTarget(cfg.grpcTarget);
    // The first connect is retried too (automatic reconnect only covers later drops).
    Reporter.spawn("mqtt-connect", () -> {
      while (true) {
        try {
          client.connect(options()).waitForCompletion(15_000);
          return;
        } catch (MqttException e) {
          Log.warn("MQTT connect failed: " + e.getMessage());
          Reporter.sleep(1000);
        }
      }
    });
    Attempt.TIMERS.scheduleAtFixedRate(this::publishStatus, cfg.statusEveryMs, cfg.statusEveryMs, TimeUnit.MILLISECONDS);
    if (cfg.healthFile != null) Attempt.TIMERS.scheduleAtFixedRate(this::writeHealth, 0, 5, TimeUnit.SECONDS);
  }

  private void writeHealth() {
    WorkerState s;
    synchronized (this) {
      if (closing) return;
      s = state;
    }
    Health.write(cfg.healthFile, cfg.workerId, s.name(), client.isConnected(), runner.size());
  }

  /** The graceful stop of PROTOCOL.md section 12. */
  public void close() {
    synchronized (this) {
      state = WorkerState.WORKER_STATE_DRAINING;
      reason = "shutdown";
    }
    waitFor(publishStatus(), 2000);
    long grace = cfg.shutdownGraceMs;
    long deliver = Math.max(1000, Math.min(5000, grace));
    runner.shutdown(grace, deliver);
    long until = System.currentTimeMillis() + deliver;
    reporter.waitConfirmed(deliver);
    routes.waitConfirmed(Math.max(0, until - System.currentTimeMillis()));
    synchronized (this) {
      closing = true;
      Log.ship = null;
    }
    waitFor(publish(status(WorkerState.WORKER_STATE_OFFLINE, "shutdown")), 3000);
    try {
      client.disconnect(250).waitForCompletion(1000);
    } catch (MqttException e) {
      // exiting anyway
    }
    try {
      client.close(true);
    } catch (MqttException e) {
      // exiting anyway
    }
    reporter.close();
    routes.close();
    if (cfg.healthFile != null) new java.io.File(cfg.healthFile).delete();
  }

  private static void waitFor(IMqttDeliveryToken t, long ms) {
    if (t == null) return;
    try {
      t.waitForCompletion(ms);
    } catch (MqttException e) {
      // best effort
    }
  }
}
