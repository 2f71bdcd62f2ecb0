/** KServe JSON <-> wire tensors, batch concat/slice, and the infer/ocr input schemas. */
import { describe, expect, test } from 'vitest';
import type { KindSpec } from '../../common/task-kinds.js';
import { inferInput, inferKind, ocrInput, ocrKind, kserveTensor } from '../../common/kinds/inference.js';
import {
  concatBatch,
  fromHalf,
  fromKserve,
  sliceBatch,
  toHalf,
  toKserve,
} from '../../worker/inference/wire-tensor.js';
import { resolveModelConfig } from '../../worker/inference/model-config.js';
import { ctcDecode, parseDictionary } from '../../worker/inference/ocr/ctc-decode.js';

const t = (datatype: string, shape: number[], data: unknown[]) => kserveTensor.parse({ name: 'a', datatype, shape, data });

describe('wire tensors', () => {
  test('round-trips every KServe datatype', () => {
    const cases: [string, unknown[]][] = [
      ['BOOL', [true, false]],
      ['UINT8', [0, 255]],
      ['INT8', [-128, 127]],
      ['UINT16', [0, 65535]],
      ['INT16', [-32768, 32767]],
      ['UINT32', [0, 4294967295]],
      ['INT32', [-5, 7]],
      ['INT64', [-9007199254740991, 42]],
      ['UINT64', [0, 9007199254740991]],
      ['FP32', [1.5, -2.25]],
      ['FP64', [Math.PI, -1e300]],
      ['FP16', [0.5, -1024]],
      ['BYTES', ['hello', '']],
    ];
    for (const [datatype, data] of cases) {
      const wire = fromKserve(t(datatype, [2], data));
      expect(toKserve('a', wire), datatype).toEqual({ name: 'a', datatype, shape: [2], data });
    }
  });

  test('nested data is flattened; element count, type and range are checked', () => {
    expect(t('FP32', [2, 2], [[1, 2], [3, 4]]).data).toEqual([1, 2, 3, 4]);
    expect(() => t('FP32', [2, 2], [1, 2, 3])).toThrow(/needs 4 elements, data has 3/);
    expect(() => t('INT32', [1], [1.5])).toThrow(/not a valid INT32 value/);
    expect(() => t('BOOL', [1], [1])).toThrow(/not a valid BOOL value/);
    expect(() => t('FP32', [1], [{}])).toThrow(/scalars/);
  });

  test('float16 conversion rounds to nearest', () => {
    expect(fromHalf(toHalf(1))).toBe(1);
    expect(fromHalf(toHalf(65504))).toBe(65504);
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 3);
    expect(fromHalf(toHalf(6e-8))).toBeCloseTo(5.96e-8, 9);
  });

  test('non-finite outputs become null', () => {
    const wire = { type: 'float32' as const, dims: [2], data: new Float32Array([NaN, 1]).buffer };
    expect(toKserve('y', wire).data).toEqual([null, 1]);
  });

  test('concatenates and slices along dim 0', () => {
    const a = fromKserve(t('INT32', [1, 2], [1, 2]));
    const b = fromKserve(t('INT32', [2, 2], [3, 4, 5, 6]));
    const both = concatBatch([a, b]);
    expect(both.dims).toEqual([3, 2]);
    expect(toKserve('x', sliceBatch(both, 1, 2)).data).toEqual([3, 4, 5, 6]);
    const s = concatBatch([fromKserve(t('BYTES', [1], ['x'])), fromKserve(t('BYTES', [1], ['y']))]);
    expect(toKserve('s', sliceBatch(s, 1, 1)).data).toEqual(['y']);
    expect(() => sliceBatch(both, 2, 2)).toThrow(/outside/);
  });
});

describe('kind schemas', () => {
  test('infer input names its model; bad input is rejected with a path', () => {
    const input = { model_name: 'linear', inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 2], data: [[1, 2]] }] };
    expect(inferKind.model(input)).toBe('linear');
    expect(inferInput.parse(input).inputs[0]!.data).toEqual([1, 2]);
    expect(inferInput.safeParse({ ...input, model_name: '../etc' }).success).toBe(false);
    expect(inferInput.safeParse({ ...input, model_version: '0' }).success).toBe(false);
    expect(inferInput.safeParse({ ...input, inputs: [input.inputs[0], input.inputs[0]] }).success).toBe(false);
    expect(inferInput.safeParse({ ...input, extra: 1 }).success).toBe(false);
    expect(inferInput.safeParse({ ...input, inputs: [] }).error?.issues[0]?.message).toMatch(/at least one input/);
    expect(inferInput.safeParse({ model_name: 'linear', inputs: [], parameters: { metadata: true } }).success).toBe(true);
  });

  test('ocr input takes base64 or a data URL and needs model ppocr', () => {
    expect(ocrKind.model({ image: 'x' })).toBe('ppocr');
    expect(ocrInput.safeParse({ image: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB' }).success).toBe(true);
    expect(ocrInput.safeParse({ image: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB' }).success).toBe(true);
    expect(ocrInput.safeParse({ image: 'not base64 at all <script>' }).success).toBe(false);
    expect(ocrInput.safeParse({ image: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB', more: 1 }).success).toBe(false);
  });

  test('the specs are KindSpecs (type-checked) with a model requirement', () => {
    const specs: Record<string, KindSpec> = { infer: inferKind, ocr: ocrKind };
    expect(specs.infer!.model?.(null)).toBeUndefined();
    expect(specs.infer!.model?.({ model_name: 'm' })).toBe('m');
    expect(specs.ocr!.diagnostic).toBe(false);
  });
});

describe('model config and CTC decoding', () => {
  test('config.json is validated and defaulted', () => {
    expect(resolveModelConfig({})).toMatchObject({ maxBatchSize: 8, maxQueueDelayMs: 2, instanceCount: 1, intraOpThreads: 0 });
    expect(() => resolveModelConfig({ instance_count: 0 }, 'm/config.json')).toThrow(/m\/config.json: instance_count/);
    expect(() => resolveModelConfig({ batch: 4 })).toThrow(/batch/);
  });

  test('greedy CTC drops blanks and repeats', () => {
    const dict = parseDictionary('a\nb\n');
    expect(dict).toEqual(['a', 'b', ' ']);
    // classes: 0 blank, 1 'a', 2 'b', 3 ' '; steps: a a blank a b space b
    const steps = [1, 1, 0, 1, 2, 3, 2];
    const probs = new Float32Array(steps.length * 4);
    steps.forEach((k, i) => (probs[i * 4 + k] = 0.9));
    expect(ctcDecode(probs, steps.length, 4, 0, dict)).toEqual({ text: 'aab b', confidence: expect.closeTo(0.9, 5) });
  });
});
