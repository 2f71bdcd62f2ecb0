package taskwire.worker;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import taskwire.v1.Worker.MetricFamily;
import taskwire.v1.Worker.MetricSample;
import taskwire.v1.Worker.MetricType;
import taskwire.v1.Worker.MetricsSummary;

/**
 * The worker's own metrics with the TypeScript worker's names, labels and bucket bounds
 * (docs/OBSERVABILITY.md): attempts by kind and outcome, failures by code, handler time,
 * provider calls (requests, errors by code, latency, time to first token, tokens) by provider
 * and model, running and capacity, and the process's CPU seconds and resident memory. Sent
 * as WorkerStatus.metrics when TASKWIRE_METRICS_SUMMARY is on (the master shows them on its
 * /metrics by worker_id), and served in the Prometheus text format on TASKWIRE_METRICS_PORT
 * ({@link #render}, {@link MetricsServer}) with a worker_id label.
 */
public final class Metrics {
  private static final Pattern CODE = Pattern.compile("^[A-Z][A-Z0-9_]{0,47}$");
  static final double[] HANDLER_BOUNDS = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600};
  static final double[] PROVIDER_BOUNDS = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  static final double[] TTFT_BOUNDS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  private static final double[] NONE = new double[0];
  /** After the constants it uses (static initialisers run in order). */
  public static final Metrics INSTANCE = new Metrics();

  private static final class Family {
    final String name;
    final MetricType type;
    final String help;
    final double[] bounds;
    /** labels -> counter/gauge: [v]; histogram: [sum, count, buckets...]. */
    final Map<Map<String, String>, double[]> values = new LinkedHashMap<>();

    Family(String name, MetricType type, String help, double[] bounds) {
      this.name = name;
      this.type = type;
      this.help = help;
      this.bounds = bounds;
    }

    double[] slot(Map<String, String> labels) {
      return values.computeIfAbsent(new TreeMap<>(labels), k -> new double[type == MetricType.METRIC_TYPE_HISTOGRAM ? 2 + bounds.length : 1]);
    }

    void observe(Map<String, String> labels, double v) {
      double[] h = slot(labels);
      v = Math.max(0, v);
      h[0] += v;
      h[1] += 1;
      for (int i = 0; i < bounds.length; i++) if (v <= bounds[i]) h[2 + i] += 1;
    }
  }

  private static Family counter(String name, String help) {
    return new Family(name, MetricType.METRIC_TYPE_COUNTER, help, NONE);
  }

  private final Family attempts = counter("taskwire_worker_tasks_total", "Attempts this worker finished, by kind and outcome");
  private final Family failures = counter("taskwire_worker_task_failures_total", "Failed attempts by kind and error code");
  private final Family handler = new Family("taskwire_worker_handler_seconds", MetricType.METRIC_TYPE_HISTOGRAM, "Handler time of an attempt (start to final), by kind and outcome", HANDLER_BOUNDS);
  private final Family providerRequests = counter("taskwire_worker_provider_requests_total", "LLM provider calls, by provider, model and outcome (ok, error)");
  private final Family providerErrors = counter("taskwire_worker_provider_errors_total", "Failed LLM provider calls, by provider and error code");
  private final Family providerSeconds = new Family("taskwire_worker_provider_request_seconds", MetricType.METRIC_TYPE_HISTOGRAM, "LLM provider call, request to the end of the answer (or the failure), by provider and model", PROVIDER_BOUNDS);
  private final Family providerTtft = new Family("taskwire_worker_provider_time_to_first_token_seconds", MetricType.METRIC_TYPE_HISTOGRAM, "LLM provider call, request to the first streamed token, by provider and model", TTFT_BOUNDS);
  private final Family promptTokens = counter("taskwire_worker_llm_prompt_tokens_total", "Prompt (input) tokens the provider reported, by provider and model");
  private final Family completionTokens = counter("taskwire_worker_llm_completion_tokens_total", "Completion (output) tokens the provider reported, by provider and model");
  private final Family running = new Family("taskwire_worker_tasks_running", MetricType.METRIC_TYPE_GAUGE, "Attempts running now", NONE);
  private final Family capacity = new Family("taskwire_worker_capacity", MetricType.METRIC_TYPE_GAUGE, "Attempts this worker runs at once", NONE);
  private final Family cpu = counter("taskwire_worker_process_cpu_seconds_total", "Total user and system CPU time spent in seconds.");
  private final Family rss = new Family("taskwire_worker_process_resident_memory_bytes", MetricType.METRIC_TYPE_GAUGE, "Resident memory size in bytes.", NONE);
  private final Family[] all = {attempts, failures, handler, providerRequests, providerErrors, providerSeconds, providerTtft, promptTokens, completionTokens, running, capacity, cpu, rss};

  private static String code(String code) {
    return code != null && CODE.matcher(code).matches() ? code : "OTHER";
  }

  synchronized void attempt(String kind, String outcome, double seconds, String code) {
    Map<String, String> ko = Map.of("kind", kind, "outcome", outcome);
    attempts.slot(ko)[0] += 1;
    handler.observe(ko, seconds);
    if (outcome.equals("failed")) failures.slot(Map.of("kind", kind, "code", code(code)))[0] += 1;
  }

  /**
   * One LLM provider call: its time, time to first token (null: none), the error code (null: ok)
   * and the tokens it reported (negative: none).
   */
  public synchronized void providerCall(String provider, String model, double seconds, Double ttftSeconds, String errorCode, long prompt, long completion) {
    Map<String, String> pm = Map.of("provider", provider, "model", model);
    providerRequests.slot(Map.of("provider", provider, "model", model, "outcome", errorCode == null ? "ok" : "error"))[0] += 1;
    providerSeconds.observe(pm, seconds);
    if (ttftSeconds != null) providerTtft.observe(pm, ttftSeconds);
    if (errorCode != null) providerErrors.slot(Map.of("provider", provider, "code", code(errorCode)))[0] += 1;
    if (prompt > 0) promptTokens.slot(pm)[0] += prompt;
    if (completion > 0) completionTokens.slot(pm)[0] += completion;
  }

  private void now(int runningNow, int capacityNow) {
    running.slot(Map.of())[0] = runningNow;
    capacity.slot(Map.of())[0] = capacityNow;
    long cpuUs = AttemptResources.PROCESS.cpuUs();
    if (cpuUs > 0) cpu.slot(Map.of())[0] = cpuUs / 1e6;
    long rssBytes = AttemptResources.PROCESS.rssBytes();
    if (rssBytes > 0) rss.slot(Map.of())[0] = rssBytes; // 0: not Linux, no resident memory series
  }

  synchronized MetricsSummary summary(int runningNow, int capacityNow) {
    now(runningNow, capacityNow);
    MetricsSummary.Builder out = MetricsSummary.newBuilder();
    for (Family f : all) {
      if (f.values.isEmpty()) continue;
      MetricFamily.Builder fb = out.addFamiliesBuilder().setName(f.name).setType(f.type).setHelp(f.help);
      for (double b : f.bounds) fb.addBounds(b);
      for (Map.Entry<Map<String, String>, double[]> e : f.values.entrySet()) {
        double[] v = e.getValue();
        MetricSample.Builder s = fb.addSamplesBuilder().putAllLabels(e.getKey()).setValue(v[0]);
        if (f.type == MetricType.METRIC_TYPE_HISTOGRAM) {
          s.setCount(v[1]);
          for (int i = 2; i < v.length; i++) s.addBuckets(v[i]);
        }
      }
    }
    return out.build();
  }

  /** The Prometheus text format (0.0.4) of every family with samples, each series labelled by worker_id. */
  synchronized String render(String workerId, int runningNow, int capacityNow) {
    now(runningNow, capacityNow);
    StringBuilder out = new StringBuilder();
    for (Family f : all) {
      if (f.values.isEmpty()) continue;
      String type = f.type == MetricType.METRIC_TYPE_COUNTER ? "counter" : f.type == MetricType.METRIC_TYPE_GAUGE ? "gauge" : "histogram";
      out.append("# HELP ").append(f.name).append(' ').append(f.help.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
      out.append("# TYPE ").append(f.name).append(' ').append(type).append('\n');
      for (Map.Entry<Map<String, String>, double[]> e : f.values.entrySet()) {
        List<String[]> labels = new ArrayList<>();
        labels.add(new String[] {"worker_id", workerId});
        for (Map.Entry<String, String> l : e.getKey().entrySet()) labels.add(new String[] {l.getKey(), l.getValue()});
        double[] v = e.getValue();
        if (f.type != MetricType.METRIC_TYPE_HISTOGRAM) {
          out.append(f.name).append(labels(labels, null)).append(' ').append(num(v[0])).append('\n');
          continue;
        }
        for (int i = 0; i < f.bounds.length; i++) {
          out.append(f.name).append("_bucket").append(labels(labels, num(f.bounds[i]))).append(' ').append(num(v[2 + i])).append('\n');
        }
        out.append(f.name).append("_bucket").append(labels(labels, "+Inf")).append(' ').append(num(v[1])).append('\n');
        out.append(f.name).append("_sum").append(labels(labels, null)).append(' ').append(num(v[0])).append('\n');
        out.append(f.name).append("_count").append(labels(labels, null)).append(' ').append(num(v[1])).append('\n');
      }
    }
    return out.toString();
  }

  private static String labels(List<String[]> labels, String le) {
    StringBuilder b = new StringBuilder("{");
    for (String[] l : labels) {
      if (b.length() > 1) b.append(',');
      b.append(l[0]).append("=\"").append(l[1].replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
    }
    if (le != null) b.append(b.length() > 1 ? "," : "").append("le=\"").append(le).append('"');
    return b.append('}').toString();
  }

  static String num(double v) {
    if (Double.isInfinite(v)) return v > 0 ? "+Inf" : "-Inf";
    if (Double.isNaN(v)) return "NaN";
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
    return Double.toString(v);
  }
}
