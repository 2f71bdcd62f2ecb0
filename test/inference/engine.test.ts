/**
 * The inference engine over real onnxruntime sessions in worker threads, with
 * MatMul+Add models the test builds: numeric results, dynamic batching, bad
 * input, a file that is not ONNX, load/unload at run time.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { TaskFailure } from '../../worker/handlers/task-handler.js';
import { InferenceEngine } from '../../worker/inference/inference-engine.js';
import { probeCuda } from '../../worker/inference/execution-provider.js';
import { float32Tensor, type WireTensor } from '../../worker/inference/wire-tensor.js';
import { linearModel, linearRef, tempRepo, type TempRepo } from './onnx-fixtures.js';

const W = [
  [1, 2, 3],
  [4, 5, 6],
  [7, 8, 9],
  [10, 11, 12],
];
const B = [0.5, -1, 2];
const W2 = [[2], [0], [0], [1]];
const B2 = [100];

function x(rows: number[][]): WireTensor {
  return float32Tensor(Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

function rowsOf(t: WireTensor | undefined): number[][] {
  expect(t).toBeDefined();
  const f = Array.from(new Float32Array(t!.data));
  const [n, m] = t!.dims as [number, number];
  return Array.from({ length: n }, (_, i) => f.slice(i * m, (i + 1) * m));
}

async function failure(p: Promise<unknown>): Promise<TaskFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailure);
  return err as TaskFailure;
}

describe('InferenceEngine', () => {
  let repo: TempRepo;
  let engine: InferenceEngine;
  let changes = 0;

  beforeAll(async () => {
    repo = await tempRepo();
    await repo.add('linear', '1', linearModel(W, B), { max_batch_size: 8, max_queue_delay_ms: 20, instance_count: 1, intra_op_threads: 1 });
    await repo.add('broken', '1', 'this is not an ONNX model');
    await repo.add('misconfigured', '1', linearModel(W, B), { max_batch_size: 8, max_batch: 4 });
    engine = new InferenceEngine({ modelsDir: repo.dir, maxThreads: 2 }, silentLogger());
    engine.onChange(() => changes++);
    await engine.start();
  });

  afterAll(async () => {
    await engine?.close();
    await engine?.close();
    await repo?.remove();
  });

  test('reads input/output metadata from the model and reports ready on CPU', () => {
    const s = engine.status('linear');
    expect(s).toMatchObject({ state: 'ready', versions: ['1'], readyVersions: ['1'], executionProvider: 'cpu' });
    expect(engine.metadata('linear')).toEqual({
      name: 'linear',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'X', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [-1, 3] }],
    });
    expect(changes).toBeGreaterThan(0);
  });

  test('computes X·W + b', async () => {
    const input = [
      [1, 0, 0, 0],
      [0.5, -2, 3, 0.25],
    ];
    const r = await engine.infer('linear', undefined, { X: x(input) });
    expect(r.modelVersion).toBe('1');
    const got = rowsOf(r.outputs.Y);
    const want = linearRef(input, W, B);
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i]![j]!, 4)));
  });

  test('batches concurrent requests and gives each caller its own rows', async () => {
    const before = engine.stats('linear')!;
    const batchesBefore = before.batches;
    const inputs = Array.from({ length: 6 }, (_, i) => [[i, i + 1, -i, 2 * i]]);
    const results = await Promise.all(inputs.map((inp) => engine.infer('linear', '1', { X: x(inp) })));
    results.forEach((r, i) => {
      const want = linearRef(inputs[i]!, W, B)[0]!;
      rowsOf(r.outputs.Y)[0]!.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 4));
    });
    const stats = engine.stats('linear')!;
    expect(stats.batches - batchesBefore).toBeLessThan(6);
    expect(Math.max(...results.map((r) => r.batchRows))).toBeGreaterThan(1);
  });

  test('rejects bad input with what the model expects, and keeps serving', async () => {
    const unknown = await failure(engine.infer('nope', undefined, { X: x([[1, 2, 3, 4]]) }));
    expect(unknown.code).toBe('MODEL_NOT_FOUND');
    expect(unknown.message).toMatch(/unknown model nope.*linear/);

    const name = await failure(engine.infer('linear', undefined, { input: x([[1, 2, 3, 4]]) }));
    expect(name.code).toBe('BAD_INPUT');
    expect(name.message).toContain('expects inputs X (FP32 [-1,4])');

    const shape = await failure(engine.infer('linear', undefined, { X: x([[1, 2, 3]]) }));
    expect(shape.code).toBe('BAD_INPUT');
    expect(shape.message).toContain('expects shape [-1,4]');
    expect(shape.message).toContain('got [1,3]');

    const dtype = await failure(
      engine.infer('linear', undefined, { X: { type: 'int32', dims: [1, 4], data: new Int32Array(4).buffer } }),
    );
    expect(dtype.code).toBe('BAD_INPUT');
    expect(dtype.message).toContain('expects FP32, got INT32');

    const big = await failure(engine.infer('linear', undefined, { X: x(Array.from({ length: 9 }, () => [1, 1, 1, 1])) }));
    expect(big.code).toBe('BAD_INPUT');
    expect(big.message).toContain('max_batch_size 8');

    const version = await failure(engine.infer('linear', '7', { X: x([[1, 2, 3, 4]]) }));
    expect(version.code).toBe('MODEL_NOT_FOUND');

    const ok = await engine.infer('linear', undefined, { X: x([[1, 1, 1, 1]]) });
    expect(rowsOf(ok.outputs.Y)[0]![0]).toBeCloseTo(22.5, 4);
  });

  test('a model file that is not ONNX is reported failed; others keep serving', async () => {
    const s = engine.status('broken');
    expect(s?.state).toBe('failed');
    expect(s?.error).toBeTruthy();
    const err = await failure(engine.infer('broken', undefined, { X: x([[1, 2, 3, 4]]) }));
    expect(err.code).toBe('MODEL_NOT_FOUND');
    expect(err.message).toMatch(/broken is failed/);
    await expect(engine.load('broken')).rejects.toMatchObject({ code: 'INFERENCE_ERROR' });
    expect(engine.status('misconfigured')).toMatchObject({ state: 'failed', error: expect.stringContaining('misconfigured/config.json') });
    expect(engine.status('misconfigured')?.error).toContain('max_batch');
    const ok = await engine.infer('linear', undefined, { X: x([[0, 0, 0, 0]]) });
    expect(rowsOf(ok.outputs.Y)[0]).toEqual([0.5, -1, 2]);
  });

  test('loads and unloads models at run time', async () => {
    await expect(engine.load('second')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await repo.add('second', '1', linearModel(W2, B2), { max_batch_size: 0, instance_count: 2, intra_op_threads: 1 });
    await repo.add('second', '2', linearModel(W2, [200]));
    const status = await engine.load('second');
    expect(status).toMatchObject({ state: 'ready', versions: ['1', '2'], readyVersions: ['2'] });
    await engine.load('second', '1');
    expect(engine.status('second')?.readyVersions.sort()).toEqual(['1', '2']);
    const v1 = await engine.infer('second', '1', { X: x([[3, 9, 9, 4]]) });
    expect(rowsOf(v1.outputs.Y)).toEqual([[110]]);
    const latest = await engine.infer('second', undefined, { X: x([[3, 9, 9, 4]]) });
    expect(latest.modelVersion).toBe('2');
    expect(rowsOf(latest.outputs.Y)).toEqual([[210]]);

    // a request already running when its model is unloaded still completes
    const running = engine.infer('second', '1', { X: x([[1, 1, 1, 1]]) });
    await new Promise((r) => setImmediate(r));
    await engine.unload('second');
    expect(rowsOf((await running).outputs.Y)).toEqual([[103]]);
    expect(engine.status('second')).toBeUndefined();
    const gone = await failure(engine.infer('second', undefined, { X: x([[1, 2, 3, 4]]) }));
    expect(gone.code).toBe('MODEL_NOT_FOUND');
    await expect(engine.unload('second')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});

describe.skipIf(probeCuda().available)('execution providers without a GPU', () => {
  test('a model that asks for CUDA runs on CPU, says so in its status, and logs why', async () => {
    const repo = await tempRepo();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const engine = new InferenceEngine({ modelsDir: repo.dir, executionProvider: 'cpu' }, pino({ level: 'info' }, sink));
    try {
      await repo.add('gpu-model', '1', linearModel(W, B), { execution_provider: 'cuda' });
      await engine.start();
      expect(engine.status('gpu-model')).toMatchObject({ state: 'ready', executionProvider: 'cpu' });
      expect(lines.join('')).toMatch(/CUDA requested but .*; falling back to CPU/);
      const r = await engine.infer('gpu-model', undefined, { X: x([[0, 0, 0, 0]]) });
      expect(rowsOf(r.outputs.Y)).toEqual([[0.5, -1, 2]]);
    } finally {
      await engine.close();
      await repo.remove();
    }
  });
});
