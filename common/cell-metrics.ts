/**
 * Counters and histograms recorded into plain cells and handed to prom-client
 * only when the registry is collected (a scrape of /metrics).
 *
 * prom-client's labelled `inc()` / `observe()` validate the labels and hash
 * them into a string key on every call; on the per-task path that is most of
 * what metrics cost. Here a caller looks up the cell of a label set once
 * (`cell(labels)`, the slow path) and keeps it; recording is then a field
 * update (`cell.value += n`) or, for a histogram, a binary search over the
 * bucket bounds (a Float64Array) and three additions.
 *
 * The exposition is prom-client's own: each metric is registered in a
 * prom-client `Registry` and implements the `get()` / `getForPromString()`
 * the registry calls, returning the values in the shape prom-client's Counter
 * and Histogram return (histograms as `_bucket` with `le`, cumulative, `+Inf`,
 * then `_sum` and `_count`), so the text is the same as theirs. A series
 * appears once something was recorded in it (or `zero()` was called), as with
 * prom-client; `reset()` removes every series.
 */
import type { Registry } from 'prom-client';

export interface CellMetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  registers: Registry[];
}

export type CellLabels<L extends string> = Partial<Record<L, string | number>>;

/** One series of a counter: add to `value` (never a negative amount). */
export interface CounterCell {
  value: number;
}

/** One series of a histogram: `observe(v)`. Counts per bucket are not cumulative here (they are at export). */
export class HistogramCell {
  /** Observations per bucket, the last one past every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts `v` in the first bucket whose bound is >= v (Prometheus `le`); a value that is not finite is dropped. */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    const b = this.bounds;
    let lo = 0;
    let hi = b.length; // the answer is in [lo, hi]; hi = b.length is +Inf
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v <= b[mid]!) hi = mid;
      else lo = mid + 1;
    }
    this.counts[lo]!++;
    this.sum += v;
    this.count++;
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** What prom-client's registry reads from a metric (`get()`): the shape its own metrics return. */
export interface CollectedValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  /** getForPromString only: the series' labels, formatted after `labels` (prom-client's histogram form). */
  sharedLabels?: Record<string, string | number>;
}

export interface CollectedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: CollectedValue[];
}

interface Series<C> {
  labels: Record<string, string | number>;
  cell: C;
  /** Shown even while nothing was recorded (`zero()`, or `inc(labels, 0)`). */
  shown: boolean;
}

const SEP = '\u0001';

abstract class CellMetric<L extends string, C> {
  name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly L[];
  private readonly series = new Map<string, Series<C>>();

  constructor(config: CellMetricConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(this.name)) throw new Error(`invalid metric name ${this.name}`);
    for (const l of this.labelNames) if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l) || l === 'le') throw new Error(`invalid label name ${l} of ${this.name}`);
    // prom-client's registry takes any object with a name, get() and reset(); its types only name its own classes.
    for (const r of config.registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract newCell(): C;
  protected abstract isEmpty(cell: C): boolean;
  protected abstract clear(cell: C): void;
  protected abstract collected(s: Series<C>, out: CollectedValue[], splay: boolean): void;
  abstract readonly type: CollectedMetric['type'];

  /** The cell of a label set (every label name given), created empty: look it up once, then record into it. */
  cell(labels: CellLabels<L> = {}): C {
    return this.seriesOf(labels).cell;
  }

  /** Shows the series at zero before anything is recorded in it. */
  zero(labels: CellLabels<L> = {}): void {
    this.seriesOf(labels).shown = true;
  }

  /** Removes every series (as prom-client's reset); cells handed out before are zeroed and stay valid. */
  reset(): void {
    for (const s of this.series.values()) {
      this.clear(s.cell);
      s.shown = false;
    }
  }

  async get(): Promise<CollectedMetric> {
    return this.collect(true);
  }

  /** What prom-client's registry asks for when it writes the text format. */
  async getForPromString(): Promise<CollectedMetric> {
    return this.collect(false);
  }

  private collect(splay: boolean): CollectedMetric {
    const values: CollectedValue[] = [];
    for (const s of this.series.values()) if (s.shown || !this.isEmpty(s.cell)) this.collected(s, values, splay);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  protected seriesOf(labels: CellLabels<L>): Series<C> {
    const values: string[] = [];
    for (const k of Object.keys(labels)) if (!(this.labelNames as readonly string[]).includes(k)) throw new Error(`${this.name} has no label ${k}`);
    for (const n of this.labelNames) {
      const v = labels[n];
      if (v === undefined) throw new Error(`${this.name}: label ${n} is missing`);
      values.push(String(v));
    }
    const key = values.join(SEP);
    let s = this.series.get(key);
    if (!s) {
      // In the caller's order (as prom-client writes them).
      const copy: Record<string, string> = {};
      for (const k of Object.keys(labels)) copy[k] = String(labels[k as L]);
      this.series.set(key, (s = { labels: copy, cell: this.newCell(), shown: false }));
    }
    return s;
  }
}

/** A Prometheus counter whose series are CounterCells. */
export class CellCounter<L extends string = string> extends CellMetric<L, CounterCell> {
  readonly type = 'counter' as const;

  /** Slow path (a label lookup per call): for what is not per task. Keep `cell(labels)` on a hot path. */
  inc(labels: CellLabels<L> = {}, by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new Error(`${this.name}: a counter only goes up by a finite amount, not ${by}`);
    const s = this.seriesOf(labels);
    s.cell.value += by;
    if (by === 0) s.shown = true;
  }

  protected newCell(): CounterCell {
    return { value: 0 };
  }

  protected isEmpty(cell: CounterCell): boolean {
    return cell.value === 0;
  }

  protected clear(cell: CounterCell): void {
    cell.value = 0;
  }

  protected collected(s: Series<CounterCell>, out: CollectedValue[]): void {
    out.push({ value: s.cell.value, labels: s.labels });
  }
}

export interface CellHistogramConfig<L extends string> extends CellMetricConfig<L> {
  /** Upper bounds, increasing (+Inf is implied). */
  buckets: readonly number[];
}

/** A Prometheus histogram whose series are HistogramCells (cumulative buckets, `_sum`, `_count` at export). */
export class CellHistogram<L extends string = string> extends CellMetric<L, HistogramCell> {
  readonly type = 'histogram' as const;
  readonly upperBounds: Float64Array;

  constructor(config: CellHistogramConfig<L>) {
    super(config);
    const b = config.buckets;
    for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i]!) || (i > 0 && b[i]! <= b[i - 1]!)) throw new Error(`${this.name}: buckets must be finite and increasing`);
    this.upperBounds = Float64Array.from(b);
  }

  /** Slow path (a label lookup per call): for what is not per task. Keep `cell(labels)` on a hot path. */
  observe(labels: CellLabels<L>, value: number): void {
    this.seriesOf(labels).cell.observe(value);
  }

  protected newCell(): HistogramCell {
    return new HistogramCell(this.upperBounds);
  }

  protected isEmpty(cell: HistogramCell): boolean {
    return cell.count === 0;
  }

  protected clear(cell: HistogramCell): void {
    cell.clear();
  }

  protected collected(s: Series<HistogramCell>, out: CollectedValue[], splay: boolean): void {
    const bucket = `${this.name}_bucket`;
    const { counts, sum, count } = s.cell;
    // With splay (get()): one label object per sample, `le` first; for the text format prom-client formats the series'
    // labels once (sharedLabels) after `le`: the same text either way.
    const labelled = (extra: Record<string, string | number>): Pick<CollectedValue, 'labels' | 'sharedLabels'> =>
      splay ? { labels: { ...extra, ...s.labels } } : { labels: extra, sharedLabels: s.labels };
    let acc = 0;
    for (let i = 0; i < this.upperBounds.length; i++) {
      acc += counts[i]!;
      out.push({ value: acc, metricName: bucket, ...labelled({ le: this.upperBounds[i]! }) });
    }
    out.push({ value: count, metricName: bucket, ...labelled({ le: '+Inf' }) });
    out.push({ value: sum, metricName: `${this.name}_sum`, ...labelled({}) });
    out.push({ value: count, metricName: `${this.name}_count`, ...labelled({}) });
  }
}
