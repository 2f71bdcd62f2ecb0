/**
 * Dynamic batching (Triton's dynamic batcher): requests whose tensors have
 * the same dtype and non-batch dims (the same `key`) that arrive within
 * `maxQueueDelayMs` of each other are concatenated along dim 0, up to
 * `maxBatchSize` rows, run once, and each caller gets its own slice back.
 *
 * A batch is dispatched when it is full or its oldest request has waited
 * `maxQueueDelayMs`, and only while fewer than `concurrency` batches run (one
 * per session instance): requests that arrive while every instance is busy
 * join the next batch. If a batch of several requests fails, each request is
 * re-run alone, so one bad request does not fail the others.
 */
import type { Clock } from '../../common/clock.js';
import { ClosedError } from '../../common/errors.js';
import { concatBatch, sliceBatch, type WireFeeds } from './wire-tensor.js';

export interface Timer {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimer: Timer = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BatchItem {
  feeds: WireFeeds;
  /** Size of dim 0 (the batch dim) of every input. */
  rows: number;
  /** Requests with equal keys may share a batch (dtype + non-batch dims of each input). */
  key: string;
}

export interface BatchResult {
  outputs: WireFeeds;
  /** Rows in the batch this request ran in. */
  batchRows: number;
  queueMs: number;
  computeMs: number;
}

/** One run of the model, for metrics. */
export interface BatchRecord {
  requests: number;
  rows: number;
  /** Queue time of each request in the batch (ms). */
  queueMs: number[];
  computeMs: number;
  ok: boolean;
}

export type BatchRunner = (feeds: WireFeeds) => Promise<WireFeeds>;

export interface DynamicBatcherOptions {
  /** Max rows per run; 0 or 1 disables batching. */
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Batches run at once (session instances). */
  concurrency: number;
  /** Requests waiting before submit() rejects (backpressure). */
  maxQueued: number;
  clock: Clock;
  timer: Timer;
  onBatch?: (record: BatchRecord) => void;
}

export class QueueFullError extends Error {
  readonly code = 'QUEUE_FULL';
  constructor(limit: number) {
    super(`inference queue is full (${limit} waiting requests)`);
    this.name = 'QueueFullError';
  }
}

interface Pending {
  item: BatchItem;
  enqueuedAt: number;
  resolve(r: BatchResult): void;
  reject(err: unknown): void;
  detach(): void;
}

interface Group {
  key: string;
  queue: Pending[];
  due: boolean;
  timer: unknown;
}

export class DynamicBatcher {
  private readonly runner: BatchRunner;
  private readonly opts: DynamicBatcherOptions;
  private readonly groups = new Map<string, Group>();
  private inFlight = 0;
  private queued = 0;
  private seq = 0;
  private closed = false;

  constructor(runner: BatchRunner, options: DynamicBatcherOptions) {
    this.runner = runner;
    this.opts = { ...options, concurrency: Math.max(1, options.concurrency) };
  }

  private get batching(): boolean {
    return this.opts.maxBatchSize > 1;
  }

  /** Requests waiting to be dispatched. */
  get queueLength(): number {
    return this.queued;
  }

  get running(): number {
    return this.inFlight;
  }

  submit(item: BatchItem, signal?: AbortSignal): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new ClosedError('inference batcher'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queued >= this.opts.maxQueued) return Promise.reject(new QueueFullError(this.opts.maxQueued));
    return new Promise<BatchResult>((resolve, reject) => {
      const key = this.batching ? `k:${item.key}` : `s:${this.seq++}`;
      let group = this.groups.get(key);
      if (!group) {
        group = { key, queue: [], due: !this.batching || this.opts.maxQueueDelayMs <= 0, timer: undefined };
        this.groups.set(key, group);
      }
      const g = group;
      const onAbort = (): void => {
        const i = g.queue.indexOf(pending);
        if (i < 0) return;
        g.queue.splice(i, 1);
        this.queued--;
        if (g.queue.length === 0) this.dropGroup(g);
        reject(signal?.reason);
      };
      const pending: Pending = {
        item,
        enqueuedAt: this.opts.clock.now(),
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      g.queue.push(pending);
      this.queued++;
      if (this.rowsOf(g) >= this.opts.maxBatchSize) g.due = true;
      if (!g.due && g.timer === undefined) this.arm(g, this.opts.maxQueueDelayMs);
      this.pump();
    });
  }

  /** Rejects everything queued; running batches finish. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const g of [...this.groups.values()]) {
      for (const p of g.queue) {
        p.detach();
        p.reject(new ClosedError('inference batcher'));
      }
      this.queued -= g.queue.length;
      g.queue = [];
      this.dropGroup(g);
    }
  }

  private rowsOf(g: Group): number {
    return g.queue.reduce((a, p) => a + p.item.rows, 0);
  }

  private arm(g: Group, ms: number): void {
    g.timer = this.opts.timer.setTimeout(() => {
      g.timer = undefined;
      g.due = true;
      this.pump();
    }, ms);
  }

  private dropGroup(g: Group): void {
    if (g.timer !== undefined) this.opts.timer.clearTimeout(g.timer);
    g.timer = undefined;
    this.groups.delete(g.key);
  }

  private nextDueGroup(): Group | undefined {
    let best: Group | undefined;
    for (const g of this.groups.values()) {
      if (!g.due || g.queue.length === 0) continue;
      if (!best || g.queue[0]!.enqueuedAt < best.queue[0]!.enqueuedAt) best = g;
    }
    return best;
  }

  private pump(): void {
    while (this.inFlight < this.opts.concurrency) {
      const g = this.nextDueGroup();
      if (!g) return;
      const batch: Pending[] = [];
      let rows = 0;
      while (g.queue.length > 0) {
        const next = g.queue[0]!;
        if (batch.length > 0 && rows + next.item.rows > Math.max(1, this.opts.maxBatchSize)) break;
        batch.push(g.queue.shift()!);
        rows += next.item.rows;
      }
      this.queued -= batch.length;
      if (g.queue.length === 0) {
        this.dropGroup(g);
      } else if (this.rowsOf(g) < this.opts.maxBatchSize) {
        // what is left waits for company until its oldest request has waited the delay
        const waited = this.opts.clock.now() - g.queue[0]!.enqueuedAt;
        if (waited < this.opts.maxQueueDelayMs) {
          g.due = false;
          if (g.timer !== undefined) this.opts.timer.clearTimeout(g.timer);
          this.arm(g, this.opts.maxQueueDelayMs - waited);
        }
      }
      for (const p of batch) p.detach();
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    const start = this.opts.clock.now();
    const queueMs = batch.map((p) => start - p.enqueuedAt);
    const rows = batch.reduce((a, p) => a + p.item.rows, 0);
    try {
      const outputs = await this.runner(batch.length === 1 ? batch[0]!.item.feeds : this.concat(batch));
      const computeMs = this.opts.clock.now() - start;
      const slices = batch.length === 1 ? [outputs] : this.split(outputs, batch, rows);
      this.opts.onBatch?.({ requests: batch.length, rows, queueMs, computeMs, ok: true });
      batch.forEach((p, i) => p.resolve({ outputs: slices[i]!, batchRows: rows, queueMs: queueMs[i]!, computeMs }));
    } catch (err) {
      const computeMs = this.opts.clock.now() - start;
      this.opts.onBatch?.({ requests: batch.length, rows, queueMs, computeMs, ok: false });
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // isolate the bad request(s): run each alone, in this same slot
      for (const p of batch) await this.run([p]);
    }
  }

  private concat(batch: Pending[]): WireFeeds {
    const feeds: WireFeeds = {};
    for (const name of Object.keys(batch[0]!.item.feeds)) {
      feeds[name] = concatBatch(
        batch.map((p) => {
          const t = p.item.feeds[name];
          if (!t) throw new Error(`batched request lacks input ${name}`);
          return t;
        }),
      );
    }
    return feeds;
  }

  private split(outputs: WireFeeds, batch: Pending[], rows: number): WireFeeds[] {
    const slices: WireFeeds[] = batch.map(() => ({}));
    for (const [name, t] of Object.entries(outputs)) {
      if (t.dims[0] !== rows) throw new Error(`output ${name} has dim 0 = ${t.dims[0]}, not the batch size ${rows}`);
      let offset = 0;
      batch.forEach((p, i) => {
        slices[i]![name] = sliceBatch(t, offset, p.item.rows);
        offset += p.item.rows;
      });
    }
    return slices;
  }
}
