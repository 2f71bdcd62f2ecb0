package taskwire.worker;

import java.util.LinkedHashMap;
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
 * running and capacity. Sent as WorkerStatus.metrics when TASKWIRE_METRICS_SUMMARY is on
 * (the master shows them on its /metrics by worker_id). Provider metrics: not yet.
 */
final class Metrics {
  private static final Pattern CODE = Pattern.compile("^[A-Z][A-Z0-9_]{0,47}$");
  static final double[] HANDLER_BOUNDS = {0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600};
  /** After the constants it uses (static initialisers run in order). */
  static final Metrics INSTANCE = new Metrics();

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
  }

  private final Family attempts = new Family("taskwire_worker_tasks_total", MetricType.METRIC_TYPE_COUNTER, "Attempts this worker finished, by kind and outcome", new double[0]);
  private final Family failures = new Family("taskwire_worker_task_failures_total", MetricType.METRIC_TYPE_COUNTER, "Failed attempts by kind and error code", new double[0]);
  private final Family handler = new Family("taskwire_worker_handler_seconds", MetricType.METRIC_TYPE_HISTOGRAM, "Handler time of an attempt (start to final), by kind and outcome", HANDLER_BOUNDS);
  private final Family running = new Family("taskwire_worker_tasks_running", MetricType.METRIC_TYPE_GAUGE, "Attempts running now", new double[0]);
  private final Family capacity = new Family("taskwire_worker_capacity", MetricType.METRIC_TYPE_GAUGE, "Attempts this worker runs at once", new double[0]);
  private final Family[] all = {attempts, failures, handler, running, capacity};

  synchronized void attempt(String kind, String outcome, double seconds, String code) {
    Map<String, String> ko = Map.of("kind", kind, "outcome", outcome);
    attempts.slot(ko)[0] += 1;
    double[] h = handler.slot(ko);
    double v = Math.max(0, seconds);
    h[0] += v;
    h[1] += 1;
    for (int i = 0; i < HANDLER_BOUNDS.length; i++) if (v <= HANDLER_BOUNDS[i]) h[2 + i] += 1;
    if (outcome.equals("failed")) failures.slot(Map.of("kind", kind, "code", code != null && CODE.matcher(code).matches() ? code : "OTHER"))[0] += 1;
  }

  synchronized MetricsSummary summary(int runningNow, int capacityNow) {
    running.slot(Map.of())[0] = runningNow;
    capacity.slot(Map.of())[0] = capacityNow;
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
}
