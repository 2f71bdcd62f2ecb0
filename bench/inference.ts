/**
 * Inference benchmark: the PP-OCR recognition model (one text line, 3x48x320)
 * through the engine (worker threads + dynamic batcher), at concurrency 1, 8
 * and 32, with dynamic batching off (max_batch_size 1) and on, alternating
 * configurations in one run and quoting medians. Also: OCR model load time and
 * process memory with the OCR models loaded.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../common/logger.js';
import { InferenceEngine } from '../worker/inference/inference-engine.js';
import { resolveModelConfig } from '../worker/inference/model-config.js';
import { OcrService } from '../worker/inference/ocr/ocr-service.js';
import { findPpocrFiles } from '../worker/inference/ocr/ppocr-models.js';
import { float32Tensor, type WireTensor } from '../worker/inference/wire-tensor.js';
import { fmt, median, summarize } from './stats.js';

export interface InferenceBenchOptions {
  concurrencies?: number[];
  /** Requests per measured run (at least 4 x concurrency). */
  requests?: number;
  /** Measured runs per configuration and concurrency (alternating off/on). */
  rounds?: number;
  /** Batching "on": max batch size and queue delay. */
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  quick?: boolean;
}

export interface InferenceBenchRow {
  concurrency: number;
  batching: 'off' | 'on';
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
  speedup_at_max_concurrency: number;
}

const SHAPE = [1, 3, 48, 320];

function lineTensor(template: Float32Array): WireTensor {
  return float32Tensor(template.slice(), [...SHAPE]);
}

async function measure(
  engine: InferenceEngine,
  model: string,
  template: Float32Array,
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
        await engine.infer(model, undefined, { x: lineTensor(template) });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rps: (requests * 1000) / (performance.now() - started), latencies };
}

export async function runInferenceBench(options: InferenceBenchOptions = {}): Promise<InferenceBenchResult> {
  const quick = options.quick ?? false;
  const concurrencies = options.concurrencies ?? [1, 8, 32];
  const rounds = options.rounds ?? (quick ? 1 : 3);
  const maxBatchSize = options.maxBatchSize ?? 32;
  const maxQueueDelayMs = options.maxQueueDelayMs ?? 2;
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
    const base = { instance_count: 1, intra_op_threads: cores };
    await engine.register('rec-off', '1', files.rec, resolveModelConfig({ ...base, max_batch_size: 1, max_queue_delay_ms: 0 }));
    await engine.register('rec-on', '1', files.rec, resolveModelConfig({ ...base, max_batch_size: maxBatchSize, max_queue_delay_ms: maxQueueDelayMs }));
    const template = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
    for (let i = 0; i < template.length; i++) template[i] = Math.sin(i * 0.37) * 0.8;

    const rows: InferenceBenchRow[] = [];
    for (const c of concurrencies) {
      const requests = options.requests ?? Math.max(quick ? 16 : 48, 4 * c);
      // warm both paths at this concurrency, then alternate
      await measure(engine, 'rec-off', template, c, Math.min(requests, 2 * c));
      await measure(engine, 'rec-on', template, c, Math.min(requests, 2 * c));
      const runs: Record<'off' | 'on', { rps: number[]; lat: number[]; batches: number; reqs: number }> = {
        off: { rps: [], lat: [], batches: 0, reqs: 0 },
        on: { rps: [], lat: [], batches: 0, reqs: 0 },
      };
      for (let r = 0; r < rounds; r++) {
        for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
          const model = mode === 'on' ? 'rec-on' : 'rec-off';
          const before = engine.stats(model)!;
          const [b0, q0] = [before.batches, before.requests];
          const m = await measure(engine, model, template, c, requests);
          const after = engine.stats(model)!;
          runs[mode].rps.push(m.rps);
          runs[mode].lat.push(...m.latencies);
          runs[mode].batches += after.batches - b0;
          runs[mode].reqs += after.requests - q0;
        }
      }
      for (const mode of ['off', 'on'] as const) {
        const s = summarize(runs[mode].lat);
        rows.push({
          concurrency: c,
          batching: mode,
          throughput_rps: median(runs[mode].rps),
          p50_ms: s.p50,
          p99_ms: s.p99,
          mean_batch: runs[mode].reqs / Math.max(1, runs[mode].batches),
        });
      }
    }
    const top = Math.max(...concurrencies);
    const at = (mode: 'off' | 'on'): number => rows.find((r) => r.concurrency === top && r.batching === mode)?.throughput_rps ?? NaN;
    const result: InferenceBenchResult = {
      model: 'ch_PP-OCRv4_rec_infer.onnx',
      input_shape: SHAPE,
      cores,
      intra_op_threads: cores,
      ocr_load_ms: ocrLoadMs,
      rss_before_mb: rssBefore / 2 ** 20,
      rss_with_ocr_mb: rssWithOcr / 2 ** 20,
      rows,
      speedup_at_max_concurrency: at('on') / at('off'),
    };
    printInferenceBench(result);
    return result;
  } finally {
    await engine.close();
  }
}

export function printInferenceBench(r: InferenceBenchResult): void {
  console.log(`\nInference: ${r.model}, input [${r.input_shape.join(',')}], ${r.cores} cores, ${r.intra_op_threads} intra-op threads`);
  console.log(`OCR models (det + rec) load + warm-up: ${fmt(r.ocr_load_ms, 0)} ms; RSS ${fmt(r.rss_before_mb, 0)} MB -> ${fmt(r.rss_with_ocr_mb, 0)} MB with OCR loaded`);
  console.log('concurrency  batching  req/s    p50 ms   p99 ms   mean batch');
  for (const row of r.rows) {
    console.log(
      `${String(row.concurrency).padStart(11)}  ${row.batching.padEnd(8)}  ${fmt(row.throughput_rps, 1).padStart(6)}  ${fmt(row.p50_ms, 1).padStart(7)}  ${fmt(row.p99_ms, 1).padStart(7)}  ${fmt(row.mean_batch, 1).padStart(10)}`,
    );
  }
  console.log(`dynamic batching speed-up at the highest concurrency: ${fmt(r.speedup_at_max_concurrency, 2)}x`);
}
