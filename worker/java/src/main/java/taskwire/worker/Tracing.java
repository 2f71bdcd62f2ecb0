package taskwire.worker;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * W3C trace context for attempts (docs/OBSERVABILITY.md, "Traces"). An assignment's
 * traceparent (the master's attempt span) is continued: with OTEL_EXPORTER_OTLP_ENDPOINT (or
 * ..._TRACES_ENDPOINT) set, each attempt is a {@code taskwire.worker.run} span (kind CONSUMER),
 * child of it, exported over OTLP/HTTP JSON by a daemon thread (batched, bounded queue), like
 * the TypeScript worker's. Either way the attempt's thread knows its trace ({@link #current}):
 * its log line carries trace_id and the llm handler sends a traceparent to the provider. A
 * small exporter of its own rather than the OpenTelemetry SDK (one span kind).
 */
public final class Tracing {
  private static final Pattern TRACEPARENT = Pattern.compile("^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_QUEUED = 2048;
  private static final int BATCH = 256;
  private static final ThreadLocal<AttemptTrace> CURRENT = new ThreadLocal<>();
  private static volatile Tracing tracer;

  private final String endpoint;
  private final String service;
  private final String workerId;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<JsonObject> queue = new ArrayList<>();
  private final Thread thread;
  private volatile boolean stopping;

  private Tracing(String endpoint, String service, String workerId) {
    this.endpoint = endpoint;
    this.service = service;
    this.workerId = workerId;
    thread = new Thread(this::loop, "otlp-exporter");
    thread.setDaemon(true);
    thread.start();
  }

  /** Makes the process's tracer; none (no thread, no spans) without an endpoint. */
  static void configure(String endpoint, String service, String workerId) {
    tracer = endpoint == null ? null : new Tracing(endpoint, service, workerId);
  }

  /** Sends what is queued (bounded by the request timeout). */
  static void shutdown() {
    Tracing t = tracer;
    if (t == null) return;
    t.stopping = true;
    synchronized (t.queue) {
      t.queue.notifyAll();
    }
    try {
      t.thread.join(15_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** [trace id, parent span id, flags] of a version-00 traceparent, or null (malformed, all-zero). */
  static String[] parse(String tp) {
    Matcher m = TRACEPARENT.matcher(tp == null ? "" : tp.trim());
    if (!m.matches() || m.group(1).equals("0".repeat(32)) || m.group(2).equals("0".repeat(16))) return null;
    return new String[] {m.group(1), m.group(2), m.group(3)};
  }

  static String hex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  /** The traceparent for a request made on an attempt's thread (null: no trace). */
  public static String outgoingTraceparent() {
    AttemptTrace t = CURRENT.get();
    return t == null || t.outgoing.isEmpty() ? null : t.outgoing;
  }

  static AttemptTrace current() {
    return CURRENT.get();
  }

  /** An attempt's trace: its run span (when exporting) and what its thread knows; close() ends the thread's part. */
  static final class AttemptTrace implements AutoCloseable {
    final String traceId;
    final String outgoing;
    private final String spanId;
    private final String parentId;
    private final long startNs = System.currentTimeMillis() * 1_000_000L;
    private final Map<String, Object> attributes;
    private final Tracing exporter = tracer;

    AttemptTrace(String traceparent, Map<String, Object> attributes) {
      String[] p = parse(traceparent);
      this.attributes = new java.util.LinkedHashMap<>(attributes);
      if (exporter != null) {
        traceId = p != null ? p[0] : hex(16);
        parentId = p != null ? p[1] : null;
        spanId = hex(8);
        outgoing = "00-" + traceId + "-" + spanId + "-" + (p != null ? p[2] : "01");
      } else {
        traceId = p != null ? p[0] : "";
        parentId = null;
        spanId = null;
        outgoing = p != null ? "00-" + p[0] + "-" + p[1] + "-" + p[2] : "";
      }
      CURRENT.set(this);
    }

    /** Finishes the run span (error status for a failure with a code) and queues it. */
    void end(String outcome, String code) {
      if (exporter == null) return;
      attributes.put("taskwire.outcome", outcome);
      if (code != null && !code.isEmpty()) attributes.put("taskwire.error_code", code);
      JsonObject s = new JsonObject();
      s.addProperty("traceId", traceId);
      s.addProperty("spanId", spanId);
      if (parentId != null) s.addProperty("parentSpanId", parentId);
      s.addProperty("name", "taskwire.worker.run");
      s.addProperty("kind", 5);
      s.addProperty("startTimeUnixNano", Long.toString(startNs));
      s.addProperty("endTimeUnixNano", Long.toString(System.currentTimeMillis() * 1_000_000L));
      JsonArray attrs = new JsonArray();
      attributes.forEach((k, v) -> attrs.add(attr(k, v)));
      s.add("attributes", attrs);
      JsonObject status = new JsonObject();
      status.addProperty("code", outcome.equals("failed") && code != null && !code.isEmpty() ? 2 : 0);
      s.add("status", status);
      exporter.enqueue(s);
    }

    @Override
    public void close() {
      CURRENT.remove();
    }
  }

  static JsonObject attr(String key, Object value) {
    JsonObject v = new JsonObject();
    if (value instanceof Number) v.addProperty("intValue", Long.toString(((Number) value).longValue()));
    else v.addProperty("stringValue", String.valueOf(value));
    JsonObject a = new JsonObject();
    a.addProperty("key", key);
    a.add("value", v);
    return a;
  }

  private void enqueue(JsonObject span) {
    synchronized (queue) {
      if (queue.size() >= MAX_QUEUED) return; // dropped: export is behind
      queue.add(span);
      if (queue.size() >= BATCH) queue.notifyAll();
    }
  }

  private void loop() {
    while (true) {
      List<JsonObject> spans;
      boolean last;
      synchronized (queue) {
        if (!stopping && queue.size() < BATCH) {
          try {
            queue.wait(1000);
          } catch (InterruptedException e) {
            return;
          }
        }
        last = stopping;
        spans = new ArrayList<>(queue);
        queue.clear();
      }
      for (int i = 0; i < spans.size(); i += BATCH) post(spans.subList(i, Math.min(spans.size(), i + BATCH)));
      if (last) return;
    }
  }

  private void post(List<JsonObject> spans) {
    JsonArray arr = new JsonArray();
    spans.forEach(arr::add);
    JsonArray resAttrs = new JsonArray();
    resAttrs.add(attr("service.name", service));
    resAttrs.add(attr("service.instance.id", workerId));
    resAttrs.add(attr("telemetry.sdk.language", "java"));
    JsonObject scope = new JsonObject();
    scope.addProperty("name", "taskwire-worker-java");
    scope.addProperty("version", Worker.VERSION);
    JsonObject ss = new JsonObject();
    ss.add("scope", scope);
    ss.add("spans", arr);
    JsonArray scopeSpans = new JsonArray();
    scopeSpans.add(ss);
    JsonObject resource = new JsonObject();
    resource.add("attributes", resAttrs);
    JsonObject rs = new JsonObject();
    rs.add("resource", resource);
    rs.add("scopeSpans", scopeSpans);
    JsonArray rss = new JsonArray();
    rss.add(rs);
    JsonObject body = new JsonObject();
    body.add("resourceSpans", rss);
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(endpoint)).timeout(Duration.ofSeconds(10)).header("content-type", "application/json");
    String headers = System.getenv("OTEL_EXPORTER_OTLP_HEADERS");
    if (headers != null) {
      for (String kv : headers.split(",")) {
        int i = kv.indexOf('=');
        if (i > 0 && !kv.substring(0, i).isBlank()) req.header(kv.substring(0, i).trim(), kv.substring(i + 1).trim());
      }
    }
    try {
      HttpResponse<Void> res = http.send(req.POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.discarding());
      if (res.statusCode() >= 300) Log.warn("trace export refused: HTTP " + res.statusCode());
    } catch (Exception e) {
      Log.warn("trace export failed: " + e);
    }
  }
}
