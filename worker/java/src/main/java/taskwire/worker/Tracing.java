package taskwire.worker;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
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
 * child of it, and each LLM provider call a {@code taskwire.provider.call} span (kind CLIENT),
 * child of the run span ({@link #providerCall}), exported over OTLP/HTTP JSON by a daemon thread
 * (batched, bounded queue), like the TypeScript worker's. Either way the attempt's thread knows its
 * trace ({@link #current}): its log line carries trace_id and the llm handler sends a traceparent to
 * the provider (the provider call span when exporting). A small exporter of its own rather than
 * the OpenTelemetry SDK (two span kinds).
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
    private final long startNs = nowNs();
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
      boolean error = outcome.equals("failed") && code != null && !code.isEmpty();
      exporter.enqueue(span(traceId, spanId, parentId, "taskwire.worker.run", 5, startNs, attributes, List.of(), error ? code : null));
    }

    @Override
    public void close() {
      CURRENT.remove();
    }
  }

  /**
   * One LLM provider call of the attempt on this thread: a {@code taskwire.provider.call} span
   * (kind CLIENT, child of the run span; gen_ai.system, gen_ai.request.model, the token usage as
   * gen_ai.usage.input_tokens / output_tokens, the first token as an event, error status with the
   * code), as the TypeScript worker's (worker/attempt-telemetry.ts). Without an exporter or outside
   * an attempt it records nothing; its traceparent is then the attempt's ({@link #outgoingTraceparent}).
   */
  public static ProviderCall providerCall(String provider, String model) {
    return new ProviderCall(CURRENT.get(), provider, model);
  }

  /** See {@link #providerCall}. end() once; firstToken() and end() are no-ops when nothing is traced. */
  public static final class ProviderCall {
    private final AttemptTrace run;
    private final String spanId;
    private final long startNs = nowNs();
    private final Map<String, Object> attributes = new java.util.LinkedHashMap<>();
    private Long firstTokenNs;
    private boolean ended;

    private ProviderCall(AttemptTrace run, String provider, String model) {
      this.run = run != null && run.exporter != null ? run : null;
      spanId = this.run != null ? hex(8) : null;
      attributes.put("gen_ai.system", provider);
      attributes.put("gen_ai.request.model", model);
    }

    /** The traceparent for the provider request: this span when exporting, else the attempt's (null: no trace). */
    public String traceparent() {
      if (run == null) return outgoingTraceparent();
      return "00-" + run.traceId + "-" + spanId + "-" + run.outgoing.substring(run.outgoing.length() - 2);
    }

    public void firstToken() {
      if (firstTokenNs == null) firstTokenNs = nowNs();
    }

    /** code: the failure's error code (null: succeeded); tokens below 0: not reported. */
    public void end(String code, long inputTokens, long outputTokens) {
      if (ended || run == null) return;
      ended = true;
      if (inputTokens >= 0) attributes.put("gen_ai.usage.input_tokens", inputTokens);
      if (outputTokens >= 0) attributes.put("gen_ai.usage.output_tokens", outputTokens);
      JsonArray events = new JsonArray();
      if (firstTokenNs != null) {
        JsonObject ev = new JsonObject();
        ev.addProperty("timeUnixNano", Long.toString(firstTokenNs));
        ev.addProperty("name", "first_token");
        events.add(ev);
      }
      run.exporter.enqueue(span(run.traceId, spanId, run.spanId, "taskwire.provider.call", 3, startNs, attributes, events, code));
    }
  }

  static long nowNs() {
    java.time.Instant t = java.time.Instant.now();
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }

  /** One OTLP/JSON span ending now; errorCode: error status with that message (null: unset). */
  static JsonObject span(String traceId, String spanId, String parentId, String name, int kind, long startNs, Map<String, Object> attributes,
      Iterable<JsonElement> events, String errorCode) {
    JsonObject s = new JsonObject();
    s.addProperty("traceId", traceId);
    s.addProperty("spanId", spanId);
    if (parentId != null) s.addProperty("parentSpanId", parentId);
    s.addProperty("name", name);
    s.addProperty("kind", kind);
    s.addProperty("startTimeUnixNano", Long.toString(startNs));
    s.addProperty("endTimeUnixNano", Long.toString(nowNs()));
    JsonArray attrs = new JsonArray();
    attributes.forEach((k, v) -> attrs.add(attr(k, v)));
    s.add("attributes", attrs);
    JsonArray evs = new JsonArray();
    events.forEach(evs::add);
    if (evs.size() > 0) s.add("events", evs);
    JsonObject status = new JsonObject();
    status.addProperty("code", errorCode != null ? 2 : 0);
    if (errorCode != null) status.addProperty("message", errorCode);
    s.add("status", status);
    return s;
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
