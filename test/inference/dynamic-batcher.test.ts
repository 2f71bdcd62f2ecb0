/** DynamicBatcher with a fake clock and timer and a fake model runner. */
import { describe, expect, test } from 'vitest';
import { DynamicBatcher, type BatchRecord, type BatchRunner, type Timer } from '../../worker/inference/dynamic-batcher.js';
import { float32Tensor, type WireFeeds } from '../../worker/inference/wire-tensor.js';

class FakeTime implements Timer {
  nowMs = 1000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  readonly clock = { now: () => this.nowMs };
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.nowMs + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.nowMs = t.at;
      t.fn();
    }
    this.nowMs = end;
  }
}

/** Runs the "model" y = 2x; each call waits for release() so the test controls timing. */
class FakeModel {
  calls: WireFeeds[] = [];
  private gates: (() => void)[] = [];
  failIf: (values: number[]) => boolean = () => false;
  readonly run: BatchRunner = async (feeds) => {
    this.calls.push(feeds);
    await new Promise<void>((r) => this.gates.push(r));
    const x = feeds.x!;
    const values = Array.from(new Float32Array(x.data));
    if (this.failIf(values)) throw new Error('poisoned input');
    return { y: float32Tensor(Float32Array.from(values.map((v) => 2 * v)), [...x.dims]) };
  };
  releaseAll(): void {
    for (const g of this.gates.splice(0)) g();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function req(values: number[], width = 1): { feeds: WireFeeds; rows: number; key: string } {
  const rows = values.length / width;
  return { feeds: { x: float32Tensor(Float32Array.from(values), [rows, width]) }, rows, key: `x:float32:${width}` };
}

function ys(r: { outputs: WireFeeds }): number[] {
  return Array.from(new Float32Array(r.outputs.y!.data));
}

function setup(opts: { maxBatchSize?: number; delay?: number; concurrency?: number; maxQueued?: number } = {}) {
  const time = new FakeTime();
  const model = new FakeModel();
  const records: BatchRecord[] = [];
  const batcher = new DynamicBatcher(model.run, {
    maxBatchSize: opts.maxBatchSize ?? 4,
    maxQueueDelayMs: opts.delay ?? 10,
    concurrency: opts.concurrency ?? 1,
    maxQueued: opts.maxQueued ?? 100,
    clock: time.clock,
    timer: time,
    onBatch: (r) => records.push(r),
  });
  return { time, model, records, batcher };
}

describe('DynamicBatcher', () => {
  test('waits up to the queue delay, then runs what arrived as one batch', async () => {
    const { time, model, records, batcher } = setup({ delay: 10 });
    const a = batcher.submit(req([1]));
    time.advance(4);
    const b = batcher.submit(req([2, 3]));
    await flush();
    expect(model.calls).toHaveLength(0);
    time.advance(5);
    await flush();
    expect(model.calls).toHaveLength(0);
    time.advance(1);
    await flush();
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0]!.x!.dims).toEqual([3, 1]);
    model.releaseAll();
    expect(ys(await a)).toEqual([2]);
    expect(ys(await b)).toEqual([4, 6]);
    expect(records).toEqual([{ requests: 2, rows: 3, queueMs: [10, 6], computeMs: 0, ok: true }]);
    expect((await a).batchRows).toBe(3);
  });

  test('a full batch runs at once, without waiting for the delay; the rest waits', async () => {
    const { time, model, batcher } = setup({ maxBatchSize: 4, delay: 50 });
    const ps = [1, 2, 3, 4, 5].map((v) => batcher.submit(req([v])));
    await flush();
    expect(model.calls).toHaveLength(1);
    expect(model.calls[0]!.x!.dims).toEqual([4, 1]);
    model.releaseAll();
    await flush();
    expect(model.calls).toHaveLength(1);
    time.advance(50);
    await flush();
    expect(model.calls).toHaveLength(2);
    expect(model.calls[1]!.x!.dims).toEqual([1, 1]);
    model.releaseAll();
    expect((await Promise.all(ps)).map(ys)).toEqual([[2], [4], [6], [8], [10]]);
  });

  test('never puts more than max_batch_size rows in one batch', async () => {
    const { time, model, batcher } = setup({ maxBatchSize: 4, delay: 5 });
    const ps = [batcher.submit(req([1, 2, 3])), batcher.submit(req([4, 5])), batcher.submit(req([6]))];
    time.advance(5);
    await flush();
    expect(model.calls.map((c) => c.x!.dims[0])).toEqual([3]);
    model.releaseAll();
    await flush();
    expect(model.calls.map((c) => c.x!.dims[0])).toEqual([3, 3]);
    model.releaseAll();
    expect((await Promise.all(ps)).map(ys)).toEqual([[2, 4, 6], [8, 10], [12]]);
  });

  test('requests with different shapes or dtypes are not batched together', async () => {
    const { time, model, batcher } = setup({ delay: 5, concurrency: 2 });
    const narrow = batcher.submit(req([1, 2], 2));
    const wide = batcher.submit(req([1, 2, 3], 3));
    const narrow2 = batcher.submit(req([3, 4], 2));
    time.advance(5);
    await flush();
    expect(model.calls.map((c) => c.x!.dims)).toEqual([
      [2, 2],
      [1, 3],
    ]);
    model.releaseAll();
    expect(ys(await narrow)).toEqual([2, 4]);
    expect(ys(await narrow2)).toEqual([6, 8]);
    expect(ys(await wide)).toEqual([2, 4, 6]);
  });

  test('one failing request does not fail the others in its batch', async () => {
    const { time, model, records, batcher } = setup({ delay: 5 });
    model.failIf = (values) => values.includes(-1);
    const good1 = batcher.submit(req([1]));
    const bad = batcher.submit(req([-1])).then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    const good2 = batcher.submit(req([3]));
    time.advance(5);
    for (let i = 0; i < 10 && (model.waiting > 0 || model.calls.length < 4); i++) {
      model.releaseAll();
      await flush();
    }
    expect(ys(await good1)).toEqual([2]);
    expect(ys(await good2)).toEqual([6]);
    expect(await bad).toBe('poisoned input');
    expect(records.map((r) => [r.requests, r.ok])).toEqual([
      [3, false],
      [1, true],
      [1, false],
      [1, true],
    ]);
  });

  test('requests that arrive while every instance is busy join the next batch', async () => {
    const { time, model, batcher } = setup({ maxBatchSize: 8, delay: 2, concurrency: 1 });
    const first = batcher.submit(req([1]));
    time.advance(2);
    await flush();
    expect(model.calls).toHaveLength(1);
    const later = [2, 3, 4].map((v) => batcher.submit(req([v])));
    time.advance(10);
    await flush();
    expect(model.calls).toHaveLength(1);
    model.releaseAll();
    await first;
    await flush();
    expect(model.calls).toHaveLength(2);
    expect(model.calls[1]!.x!.dims).toEqual([3, 1]);
    model.releaseAll();
    expect((await Promise.all(later)).map(ys)).toEqual([[4], [6], [8]]);
  });

  test('batching off: each request runs alone, in arrival order', async () => {
    const { model, batcher } = setup({ maxBatchSize: 1, delay: 10 });
    const ps = [1, 2, 3].map((v) => batcher.submit(req([v])));
    for (let i = 0; i < 3; i++) {
      await flush();
      model.releaseAll();
    }
    expect((await Promise.all(ps)).map(ys)).toEqual([[2], [4], [6]]);
    expect(model.calls.map((c) => c.x!.dims)).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  test('an aborted request leaves the queue; a full queue and close() reject', async () => {
    const { time, model, batcher } = setup({ delay: 10, maxQueued: 2 });
    const ac = new AbortController();
    const aborted = batcher.submit(req([1]), ac.signal);
    const kept = batcher.submit(req([2]));
    await expect(batcher.submit(req([3]))).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    ac.abort(new Error('cancelled'));
    await expect(aborted).rejects.toThrow('cancelled');
    time.advance(10);
    await flush();
    expect(model.calls[0]!.x!.dims).toEqual([1, 1]);
    model.releaseAll();
    expect(ys(await kept)).toEqual([4]);
    const queued = batcher.submit(req([5]));
    batcher.close();
    batcher.close();
    await expect(queued).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(batcher.submit(req([6]))).rejects.toMatchObject({ code: 'CLOSED' });
    expect(time.pending).toBe(0);
  });
});
