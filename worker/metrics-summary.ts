/**
 * The compact copy of a worker's metrics it sends in WorkerStatus.metrics,
 * for the master's /metrics: every `taskwire_worker_*` family of its own
 * registry except prom-client's process/Node.js defaults, of which only CPU
 * seconds, resident memory, heap used and event-loop lag p99 go along. The
 * `worker_id` label is left out (the master adds it). Bounded: at most
 * MAX_SAMPLES label sets in all (labels are bounded anyway: kinds, codes,
 * configured providers and models).
 */
import type { Registry } from 'prom-client';
import type { MetricFamily } from '../common/gen/taskwire/v1/MetricFamily.js';
import type { MetricSample } from '../common/gen/taskwire/v1/MetricSample.js';
import type { MetricsSummary } from '../common/gen/taskwire/v1/MetricsSummary.js';

type MetricJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];
type Values = MetricJson['values'];
type NamedValue = Values[number] & { metricName?: string };

export const MAX_SAMPLES = 500;

const DEFAULTS_KEPT = new Set([
  'taskwire_worker_process_cpu_seconds_total',
  'taskwire_worker_process_resident_memory_bytes',
  'taskwire_worker_nodejs_heap_size_used_bytes',
  'taskwire_worker_nodejs_eventloop_lag_p99_seconds',
]);

/** Families of prom-client's default metrics (dropped unless kept above). */
function isDefault(name: string): boolean {
  return name.startsWith('taskwire_worker_process_') || name.startsWith('taskwire_worker_nodejs_');
}

function labelsOf(labels: Record<string, string | number | undefined>, drop: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== 'worker_id' && k !== drop && v !== undefined) out[k] = String(v);
  return out;
}

function histogram(name: string, values: Values): { bounds: number[]; samples: MetricSample[] } {
  const series = new Map<string, { labels: Record<string, string>; sum: number; count: number; buckets: Map<number, number> }>();
  const bounds = new Set<number>();
  for (const v of values as NamedValue[]) {
    const labels = labelsOf(v.labels, 'le');
    const key = JSON.stringify(labels);
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, sum: 0, count: 0, buckets: new Map() }));
    if (v.metricName === `${name}_sum`) s.sum = v.value;
    else if (v.metricName === `${name}_count`) s.count = v.value;
    else if (v.metricName === `${name}_bucket`) {
      const le = v.labels.le;
      if (le === '+Inf' || le === undefined) continue;
      const b = Number(le);
      bounds.add(b);
      s.buckets.set(b, v.value);
    }
  }
  const sorted = [...bounds].sort((a, b) => a - b);
  return {
    bounds: sorted,
    samples: [...series.values()].map((s) => ({ labels: s.labels, value: s.sum, count: s.count, buckets: sorted.map((b) => s.buckets.get(b) ?? 0) })),
  };
}

/** The summary of a worker registry now. */
export async function buildMetricsSummary(registry: Registry): Promise<MetricsSummary> {
  const families: MetricFamily[] = [];
  let budget = MAX_SAMPLES;
  for (const m of await registry.getMetricsAsJSON()) {
    const name = m.name;
    if (!name.startsWith('taskwire_worker_') || (isDefault(name) && !DEFAULTS_KEPT.has(name))) continue;
    const type = String(m.type);
    let family: MetricFamily;
    if (type === 'histogram') {
      const h = histogram(name, m.values);
      family = { name, type: 'METRIC_TYPE_HISTOGRAM', help: m.help, bounds: h.bounds, samples: h.samples };
    } else if (type === 'counter' || type === 'gauge') {
      family = {
        name,
        type: type === 'counter' ? 'METRIC_TYPE_COUNTER' : 'METRIC_TYPE_GAUGE',
        help: m.help,
        samples: m.values.map((v) => ({ labels: labelsOf(v.labels, ''), value: v.value })),
      };
    } else continue;
    const samples = family.samples ?? [];
    if (samples.length === 0) continue;
    if (samples.length > budget) family.samples = samples.slice(0, budget);
    budget -= family.samples!.length;
    families.push(family);
    if (budget <= 0) break;
  }
  return { families };
}
