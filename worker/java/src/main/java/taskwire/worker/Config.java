package taskwire.worker;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import java.util.regex.Pattern;

/** Worker configuration from TASKWIRE_* variables; a wrong value names the variable. */
public final class Config {
  static final Pattern ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  static final Pattern ROOT = Pattern.compile("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$");

  /** A setting with a wrong value; the message starts with the variable's name. */
  public static final class ConfigException extends Exception {
    public ConfigException(String variable, String message) {
      super(variable + ": " + message);
    }
  }

  public String workerId;
  public String mqttHost;
  public int mqttPort = 1883;
  public String mqttUsername;
  public String mqttPassword;
  /** host:port of ResultService, or null: from the retained MasterStatus. */
  public String grpcTarget;
  public String topicRoot;
  public int capacity;
  public int shutdownGraceMs;
  public int statusEveryMs;
  /** TASKWIRE_METRICS_SUMMARY=on: send the worker's metrics in its status (Metrics). */
  public boolean metricsSummary;
  /** TASKWIRE_METRICS_PORT: serve GET /metrics on it (0: any free port, logged), or null: no port. */
  public Integer metricsPort;
  /** TASKWIRE_METRICS_HOST, default 0.0.0.0. */
  public String metricsHost;
  /** OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces), or null: no spans. */
  public String otlpEndpoint;
  /** OTEL_SERVICE_NAME, default taskwire-worker. */
  public String serviceName;
  /** TASKWIRE_RESULT_ROUTE_IDLE_MS: a result_target's channel is closed after this long unused (multi-master, Routes). */
  public int resultRouteIdleMs;
  /** TASKWIRE_HEALTH_FILE: rewritten every 5 s for the container healthcheck (Health), or null. */
  public String healthFile;
  /** TASKWIRE_LOG_LEVEL: trace, debug, info (default), warn, error, fatal, silent (Log). */
  public String logLevel;

  static String secret(Map<String, String> env, String name) throws ConfigException {
    String v = env.get(name);
    if (v != null && !v.isEmpty()) return v;
    String path = env.get(name + "_FILE");
    if (path == null || path.isEmpty()) return null;
    try {
      return Files.readString(Path.of(path)).trim();
    } catch (IOException e) {
      throw new ConfigException(name + "_FILE", "cannot read " + path + ": " + e.getMessage());
    }
  }

  static int intEnv(Map<String, String> env, String name, int def, int lo, int hi) throws ConfigException {
    String raw = env.get(name);
    if (raw == null || raw.isEmpty()) return def;
    int v;
    try {
      v = Integer.parseInt(raw.trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(name, "must be an integer, got \"" + raw + "\"");
    }
    if (v < lo || v > hi) throw new ConfigException(name, "must be from " + lo + " to " + hi + ", got " + v);
    return v;
  }

  static String defaultWorkerId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "worker";
    }
    host = host.replaceAll("[^A-Za-z0-9._-]", "-");
    if (host.length() > 64) host = host.substring(0, 64);
    if (host.isEmpty() || !Character.isLetterOrDigit(host.charAt(0))) host = "worker";
    byte[] b = new byte[3];
    new SecureRandom().nextBytes(b);
    return String.format("%s-%d-%02x%02x%02x", host, ProcessHandle.current().pid(), b[0], b[1], b[2]);
  }

  /** The OpenTelemetry variables, as the TypeScript worker reads them (common/otel-tracing.ts). */
  static String otlpEndpoint(Map<String, String> env) throws ConfigException {
    if (env.getOrDefault("OTEL_SDK_DISABLED", "").trim().equalsIgnoreCase("true")) return null;
    if (env.getOrDefault("OTEL_TRACES_EXPORTER", "").trim().equalsIgnoreCase("none")) return null;
    String name = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    String url = env.getOrDefault(name, "").trim();
    if (url.isEmpty()) {
      name = "OTEL_EXPORTER_OTLP_ENDPOINT";
      url = env.getOrDefault(name, "").trim();
      if (url.isEmpty()) return null;
      url = url.replaceAll("/+$", "") + "/v1/traces";
    }
    try {
      URI u = new URI(url);
      if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) throw new IllegalArgumentException();
    } catch (Exception e) {
      throw new ConfigException(name, "expected an http(s) URL, got \"" + url + "\"");
    }
    return url;
  }

  public static Config fromEnv(Map<String, String> env) throws ConfigException {
    Config c = new Config();
    c.workerId = env.getOrDefault("TASKWIRE_WORKER_ID", "");
    if (c.workerId.isEmpty()) c.workerId = defaultWorkerId();
    if (!ID.matcher(c.workerId).matches()) throw new ConfigException("TASKWIRE_WORKER_ID", "\"" + c.workerId + "\" must match " + ID);
    String master = env.getOrDefault("TASKWIRE_MASTER", "");
    if (master.isEmpty()) master = "127.0.0.1";
    String raw = env.getOrDefault("TASKWIRE_MQTT_URL", "");
    if (raw.isEmpty()) raw = "mqtt://" + master + ":1883";
    URI u;
    try {
      u = new URI(raw);
    } catch (Exception e) {
      throw new ConfigException("TASKWIRE_MQTT_URL", "expected mqtt://host:port, got \"" + raw + "\"");
    }
    if (u.getScheme() == null || !(u.getScheme().equals("mqtt") || u.getScheme().equals("tcp")) || u.getHost() == null) {
      throw new ConfigException("TASKWIRE_MQTT_URL", "expected mqtt://host:port, got \"" + raw + "\"");
    }
    c.mqttHost = u.getHost();
    if (u.getPort() > 0) c.mqttPort = u.getPort();
    c.mqttPassword = secret(env, "TASKWIRE_MQTT_PASSWORD");
    if (c.mqttPassword == null) c.mqttPassword = secret(env, "TASKWIRE_CLUSTER_TOKEN");
    c.mqttUsername = env.get("TASKWIRE_MQTT_USERNAME");
    if ((c.mqttUsername == null || c.mqttUsername.isEmpty()) && c.mqttPassword != null) c.mqttUsername = c.workerId;
    String g = env.getOrDefault("TASKWIRE_GRPC_URL", "");
    if (!g.isEmpty()) {
      g = g.replaceFirst("^(grpc|http)://", "");
      int i = g.lastIndexOf(':');
      int port = -1;
      try {
        if (i > 0) port = Integer.parseInt(g.substring(i + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (i <= 0 || port <= 0 || port > 65535) throw new ConfigException("TASKWIRE_GRPC_URL", "expected host:port, got \"" + g + "\"");
      c.grpcTarget = g;
    }
    c.topicRoot = env.getOrDefault("TASKWIRE_TOPIC_ROOT", "");
    if (c.topicRoot.isEmpty()) c.topicRoot = "taskwire/v1";
    if (!ROOT.matcher(c.topicRoot).matches()) {
      throw new ConfigException("TASKWIRE_TOPIC_ROOT", "\"" + c.topicRoot + "\" must be '/'-separated levels without wildcards");
    }
    c.capacity = intEnv(env, "TASKWIRE_WORKER_CAPACITY", 8, 1, 10000);
    c.shutdownGraceMs = intEnv(env, "TASKWIRE_SHUTDOWN_GRACE_MS", 10000, 0, 3600000);
    c.statusEveryMs = intEnv(env, "TASKWIRE_STATUS_INTERVAL_MS", 15000, 100, 3600000);
    c.resultRouteIdleMs = intEnv(env, "TASKWIRE_RESULT_ROUTE_IDLE_MS", (int) Routes.IDLE_MS, 100, 3600000);
    String summary = env.getOrDefault("TASKWIRE_METRICS_SUMMARY", "").trim().toLowerCase();
    if (summary.equals("on") || summary.equals("true") || summary.equals("1")) c.metricsSummary = true;
    else if (!summary.isEmpty() && !summary.equals("off") && !summary.equals("false") && !summary.equals("0")) {
      throw new ConfigException("TASKWIRE_METRICS_SUMMARY", "must be on or off, got \"" + summary + "\"");
    }
    String port = env.getOrDefault("TASKWIRE_METRICS_PORT", "");
    c.metricsPort = port.isEmpty() ? null : intEnv(env, "TASKWIRE_METRICS_PORT", 0, 0, 65535);
    c.metricsHost = env.getOrDefault("TASKWIRE_METRICS_HOST", "");
    if (c.metricsHost.isEmpty()) c.metricsHost = "0.0.0.0";
    c.otlpEndpoint = otlpEndpoint(env);
    c.serviceName = env.getOrDefault("OTEL_SERVICE_NAME", "");
    if (c.serviceName.isEmpty()) c.serviceName = "taskwire-worker";
    String health = env.getOrDefault("TASKWIRE_HEALTH_FILE", "");
    c.healthFile = health.isEmpty() ? null : health;
    c.logLevel = env.getOrDefault("TASKWIRE_LOG_LEVEL", "").trim().toLowerCase();
    if (c.logLevel.isEmpty()) c.logLevel = "info";
    if (!Log.RANKS.containsKey(c.logLevel)) {
      throw new ConfigException("TASKWIRE_LOG_LEVEL", "must be one of trace, debug, info, warn, error, fatal, silent, got \"" + c.logLevel + "\"");
    }
    return c;
  }
}
