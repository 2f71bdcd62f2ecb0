/**
 * The workers' own metrics on the master's /metrics: each worker's latest
 * WorkerStatus.metrics (MetricsSummary) re-exposed with a `worker_id` label,
 * so one scrape of the master covers the cluster (Python and Java workers
 * too, which serve no port of their own). Counters and histograms stay
 * aggregatable: `sum by (le) (rate(taskwire_worker_..._bucket[5m]))` across
 * workers, since every worker uses the same bucket bounds.
 *
 * Checked at this boundary (the codec already checked the proto shape):
 * names `taskwire_worker_[a-z0-9_]+` not taken by a master metric, a type
 * (the first worker to report a name fixes its type and, for histograms, its
 * bounds; a worker whose family disagrees is left out of that family), label
 * names Prometheus-valid (no `le`, `worker_id` replaced), values at most 128
 * characters, at most MAX_SAMPLES_PER_WORKER samples per worker. A status
 * without a summary keeps the worker's last one; an offline worker's series
 * go away.
 */
import type { Registry } from 'prom-client';
import type { MetricFamily__Output } from '../../common/gen/taskwire/v1/MetricFamily.js';
import type { MetricSample__Output } from '../../common/gen/taskwire/v1/MetricSample.js';
import type { WorkerRecord, WorkerRegistry } from '../scheduling/worker-registry.js';

export const MAX_SAMPLES_PER_WORKER = 500;
const NAME = /^taskwire_worker_[a-z0-9_]{1,100}$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;
const TYPES = { METRIC_TYPE_COUNTER: 'counter', METRIC_TYPE_GAUGE: 'gauge', METRIC_TYPE_HISTOGRAM: 'histogram' } as const;
type PromType = (typeof TYPES)[keyof typeof TYPES];

interface Family {
  name: string;
  type: PromType;
  help: string;
  bounds: number[];
}

interface PromValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

/** What prom-client's Registry needs of a metric to print it (get() and the fields it reads). */
interface ExposedFamily {
  name: string;
  help: string;
  type: PromType;
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: PromType; aggregator: 'sum'; values: PromValue[] }>;
  reset(): void;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function labelsOk(s: MetricSample__Output): boolean {
  for (const [k, v] of Object.entries(s.labels)) {
    if (!LABEL.test(k) || k === 'le' || k.startsWith('__') || v.length > 128) return false;
  }
  return true;
}

export class WorkerSummaries {
  /** worker id -> family name -> family as that worker sent it. */
  private readonly byWorker = new Map<string, Map<string, MetricFamily__Output>>();
  private readonly families = new Map<string, Family>();
  private readonly exposed = new Map<string, ExposedFamily>();
  private readonly off: (() => void)[] = [];

  constructor(
    private readonly registry: Registry,
    workers: WorkerRegistry,
  ) {
    // A listener of the registry must not throw into its status handling: a bad summary is dropped.
    const seen = (w: WorkerRecord) => {
      try {
        this.accept(w.id, w.status.metrics?.families ?? []);
      } catch {
        this.byWorker.delete(w.id);
      }
    };
    const gone = (w: WorkerRecord) => this.byWorker.delete(w.id);
    workers.on('online', seen);
    workers.on('changed', seen);
    workers.on('offline', gone);
    this.off.push(() => workers.off('online', seen), () => workers.off('changed', seen), () => workers.off('offline', gone));
  }

  /** Workers with a summary now. */
  get size(): number {
    return this.byWorker.size;
  }

  stop(): void {
    for (const f of this.off.splice(0)) f();
  }

  /** Keeps a worker's families (none given: its last summary stays). */
  private accept(workerId: string, list: readonly MetricFamily__Output[]): void {
    if (list.length === 0) return;
    const kept = new Map<string, MetricFamily__Output>();
    let budget = MAX_SAMPLES_PER_WORKER;
    for (const f of list) {
      if (budget <= 0) break;
      if (!NAME.test(f.name) || kept.has(f.name) || !(f.type in TYPES)) continue;
      const type = TYPES[f.type as keyof typeof TYPES];
      const known = this.families.get(f.name);
      if (known) {
        if (known.type !== type || (type === 'histogram' && !sameBounds(known.bounds, f.bounds))) continue;
      } else {
        if (this.registry.getSingleMetric(f.name) && !this.exposed.has(f.name)) continue; // a master metric's name
        const bounds = type === 'histogram' ? f.bounds : [];
        if (type === 'histogram' && (bounds.length > 64 || !bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > bounds[i - 1]!)))) continue;
        this.families.set(f.name, { name: f.name, type, help: (f.help || f.name).slice(0, 300), bounds: [...bounds] });
      }
      const samples = f.samples.filter((s) => labelsOk(s) && (type !== 'histogram' || s.buckets.length === f.bounds.length)).slice(0, budget);
      budget -= samples.length;
      kept.set(f.name, { ...f, samples });
    }
    this.byWorker.set(workerId, kept);
  }

  /** Registers (or drops) the exposed families to match what workers report; call before a scrape. */
  refresh(): void {
    const live = new Set<string>();
    for (const fams of this.byWorker.values()) for (const name of fams.keys()) live.add(name);
    for (const [name, e] of this.exposed) {
      if (!live.has(name)) {
        this.registry.removeSingleMetric(name);
        this.exposed.delete(name);
        void e;
      }
    }
    for (const name of live) {
      if (this.exposed.has(name)) continue;
      const fam = this.families.get(name)!;
      const e: ExposedFamily = {
        name,
        help: fam.help,
        type: fam.type,
        aggregator: 'sum',
        get: async () => ({ name, help: fam.help, type: fam.type, aggregator: 'sum', values: this.values(fam) }),
        reset: () => undefined,
      };
      this.exposed.set(name, e);
      this.registry.registerMetric(e as unknown as Parameters<Registry['registerMetric']>[0]);
    }
  }

  private values(fam: Family): PromValue[] {
    const out: PromValue[] = [];
    for (const [workerId, fams] of this.byWorker) {
      const f = fams.get(fam.name);
      if (!f) continue;
      for (const s of f.samples) {
        const labels = { ...s.labels, worker_id: workerId };
        if (fam.type !== 'histogram') {
          out.push({ value: s.value, labels });
          continue;
        }
        fam.bounds.forEach((b, i) => out.push({ metricName: `${fam.name}_bucket`, value: s.buckets[i] ?? 0, labels: { ...labels, le: String(b) } }));
        out.push({ metricName: `${fam.name}_bucket`, value: s.count, labels: { ...labels, le: '+Inf' } });
        out.push({ metricName: `${fam.name}_sum`, value: s.value, labels });
        out.push({ metricName: `${fam.name}_count`, value: s.count, labels });
      }
    }
    return out;
  }
}
