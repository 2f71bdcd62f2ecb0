/**
 * Inference benchmark: the PP-OCR recognition model (one text line, 3x48x320)
 * through the engine (worker threads + dynamic batcher), at concurrency 1, 8
 * and 32, with dynamic batching off (max_batch_size 1) and on, alternating
 * configurations in one run and quoting medians. Also: OCR model load time and
 * process memory with the OCR models loaded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../common/logger.js';
import { InferenceEngine } from '../worker/inference/inference-engine.js';
import { resolveModelConfig } from '../worker/inference/model-config.js';
import { OcrService } from '../worker/inference/ocr/ocr-service.js';
import { findPpocrFiles } from '../worker/inference/ocr/ppocr-models.js';
import { float32Tensor, type WireFeeds } from '../worker/inference/wire-tensor.js';
import { fmt, median, summarize } from './stats.js';

export interface InferenceBenchOptions {
  concurrencies?: number[];
  /** Requests per measured run (at least 4 x concurrency). */
  requests?: number;
  /** Measured runs per configuration and concurrency (alternating off/on). */
  rounds?: number;
  /** Batching "on": max batch sizes to compare with "off", and the queue delay. */
  maxBatchSizes?: number[];
  maxQueueDelayMs?: number;
  /** Also run a tiny MatMul model, where per-run overhead dominates (default true). */
  tinyModel?: boolean;
  quick?: boolean;
}

export interface InferenceBenchRow {
  model: string;
  concurrency: number;
  /** "off" or "on (max N)". */
  batching: string;
  throughput_rps: number;
  p50_ms: number;
  p99_ms: number;
  mean_batch: number;
}

export interface InferenceBenchResult {
  model: string;
  input_shape: number[];
  cores: number;
  intra_op_threads: number;
  ocr_load_ms: number;
  rss_before_mb: number;
  rss_with_ocr_mb: number;
  rows: InferenceBenchRow[];
  /** Throughput with batching on / off at the highest concurrency, per model and max batch size. */
  speedups: Record<string, number>;
}

const SHAPE = [1, 3, 48, 320];

async function measure(
  engine: InferenceEngine,
  model: string,
  input: () => WireFeeds,
  concurrency: number,
  requests: number,
): Promise<{ rps: number; latencies: number[] }> {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < requests) {
        issued++;
        const t0 = performance.now();
        await engine.infer(model, undefined, input());
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rps: (requests * 1000) / (performance.now() - started), latencies };
}

/** Y = X·W + b, X: FP32 [batch, 64] -> [batch, 16], built with onnx-proto (a dev dependency). */
async function tinyModelFile(): Promise<string> {
  const { onnx } = (await import('onnx-proto')).default;
  const k = 64;
  const n = 16;
  const info = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 7,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'tiny',
        node: [
          { opType: 'MatMul', input: ['X', 'W'], output: ['XW'] },
          { opType: 'Add', input: ['XW', 'B'], output: ['Y'] },
        ],
        initializer: [
          { name: 'W', dims: [k, n], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from({ length: k * n }, (_, i) => Math.cos(i)) },
          { name: 'B', dims: [n], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from({ length: n }, (_, i) => i) },
        ],
        input: [info('X', ['batch', k])],
        output: [info('Y', ['batch', n])],
      },
    }),
  ).finish();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'taskwire-bench-'));
  const file = path.join(dir, 'tiny.onnx');
  await writeFile(file, bytes);
  return file;
}

interface Subject {
  label: string;
  file: string;
  input: () => WireFeeds;
}

async function compare(
  engine: InferenceEngine,
  subject: Subject,
  o: { concurrencies: number[]; rounds: number; requests: number | undefined; quick: boolean; batchSizes: number[]; delayMs: number; cores: number },
): Promise<InferenceBenchRow[]> {
  const modes = [{ name: 'off', max: 1 }, ...o.batchSizes.map((b) => ({ name: `on (max ${b})`, max: b }))];
  const ids = new Map<string, string>();
  for (const m of modes) {
    const id = `${subject.label}-${m.max}`;
    ids.set(m.name, id);
    const delay = m.max > 1 ? o.delayMs : 0;
    await engine.register(id, '1', subject.file, resolveModelConfig({ instance_count: 1, intra_op_threads: o.cores, max_batch_size: m.max, max_queue_delay_ms: delay }));
  }
  const rows: InferenceBenchRow[] = [];
  try {
    for (const c of o.concurrencies) {
      const requests = o.requests ?? Math.max(o.quick ? 16 : 48, 4 * c);
      for (const m of modes) await measure(engine, ids.get(m.name)!, subject.input, c, Math.min(requests, 2 * c));
      const acc = new Map(modes.map((m) => [m.name, { rps: [] as number[], lat: [] as number[], batches: 0, reqs: 0 }]));
      for (let r = 0; r < o.rounds; r++) {
        const order = r % 2 === 0 ? modes : [...modes].reverse();
        for (const m of order) {
          const id = ids.get(m.name)!;
          const before = engine.stats(id)!;
          const [b0, q0] = [before.batches, before.requests];
          const run = await measure(engine, id, subject.input, c, requests);
          const after = engine.stats(id)!;
          const a = acc.get(m.name)!;
          a.rps.push(run.rps);
          a.lat.push(...run.latencies);
          a.batches += after.batches - b0;
          a.reqs += after.requests - q0;
        }
      }
      for (const m of modes) {
        const a = acc.get(m.name)!;
        const s = summarize(a.lat);
        rows.push({
          model: subject.label,
          concurrency: c,
          batching: m.name,
          throughput_rps: median(a.rps),
          p50_ms: s.p50,
          p99_ms: s.p99,
          mean_batch: a.reqs / Math.max(1, a.batches),
        });
      }
    }
  } finally {
    for (const id of ids.values()) await engine.unload(id).catch(() => undefined);
  }
  return rows;
}

export async function runInferenceBench(options: InferenceBenchOptions = {}): Promise<InferenceBenchResult> {
  const quick = options.quick ?? false;
  const concurrencies = options.concurrencies ?? [1, 8, 32];
  const rounds = options.rounds ?? (quick ? 1 : 3);
  const batchSizes = options.maxBatchSizes ?? [8, 32];
  const delayMs = options.maxQueueDelayMs ?? 2;
  const cores = os.availableParallelism();

  const rssBefore = process.memoryUsage().rss;
  const engine = new InferenceEngine({ modelsDir: '/nonexistent-taskwire-models', maxThreads: cores }, silentLogger());
  try {
    // OCR as a worker loads it: detector + recogniser, warmed up
    const t0 = performance.now();
    const ocr = new OcrService(engine);
    await ocr.start();
    const ocrLoadMs = performance.now() - t0;
    const rssWithOcr = process.memoryUsage().rss;

    const files = await findPpocrFiles();
    const line = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
    for (let i = 0; i < line.length; i++) line[i] = Math.sin(i * 0.37) * 0.8;
    const common = { concurrencies, rounds, requests: options.requests, quick, batchSizes, delayMs, cores };
    const rows = await compare(engine, { label: 'ppocr-rec', file: files.rec, input: () => ({ x: float32Tensor(line.slice(), [...SHAPE]) }) }, common);
    if (options.tinyModel ?? true) {
      const x = Float32Array.from({ length: 64 }, (_, i) => i / 64);
      const file = await tinyModelFile();
      try {
        rows.push(
          ...(await compare(engine, { label: 'tiny-matmul', file, input: () => ({ X: float32Tensor(x.slice(), [1, 64]) }) }, {
            ...common,
            concurrencies: [Math.max(...concurrencies)],
            requests: options.requests ?? (quick ? 256 : 2048),
          })),
        );
      } finally {
        await rm(path.dirname(file), { recursive: true, force: true });
      }
    }
    const top = Math.max(...concurrencies);
    const speedups: Record<string, number> = {};
    for (const r of rows) {
      if (r.concurrency !== top || r.batching === 'off') continue;
      const off = rows.find((o) => o.model === r.model && o.concurrency === top && o.batching === 'off');
      if (off) speedups[`${r.model} ${r.batching}`] = r.throughput_rps / off.throughput_rps;
    }
    const result: InferenceBenchResult = {
      model: 'ch_PP-OCRv4_rec_infer.onnx',
      input_shape: SHAPE,
      cores,
      intra_op_threads: cores,
      ocr_load_ms: ocrLoadMs,
      rss_before_mb: rssBefore / 2 ** 20,
      rss_with_ocr_mb: rssWithOcr / 2 ** 20,
      rows,
      speedups,
    };
    printInferenceBench(result);
    return result;
  } finally {
    await engine.close();
  }
}

export function printInferenceBench(r: InferenceBenchResult): void {
  console.log(`\nInference: ${r.model}, one line [${r.input_shape.join(',')}] per request, ${r.cores} cores, ${r.intra_op_threads} intra-op threads`);
  console.log(`OCR models (det + rec) load + warm-up: ${fmt(r.ocr_load_ms, 0)} ms; RSS ${fmt(r.rss_before_mb, 0)} MB -> ${fmt(r.rss_with_ocr_mb, 0)} MB with OCR loaded`);
  console.log('model         concurrency  batching       req/s     p50 ms   p99 ms   mean batch');
  for (const row of r.rows) {
    console.log(
      `${row.model.padEnd(12)}  ${String(row.concurrency).padStart(11)}  ${row.batching.padEnd(12)}  ${fmt(row.throughput_rps, 1).padStart(8)}  ${fmt(row.p50_ms, 1).padStart(8)}  ${fmt(row.p99_ms, 1).padStart(7)}  ${fmt(row.mean_batch, 1).padStart(10)}`,
    );
  }
  for (const [k, v] of Object.entries(r.speedups)) console.log(`batching speed-up, ${k}, highest concurrency: ${fmt(v, 2)}x`);
}
