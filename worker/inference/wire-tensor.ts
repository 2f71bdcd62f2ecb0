/**
 * The tensor form that crosses thread boundaries: an onnxruntime element type,
 * dims, and the raw bytes as a transferable ArrayBuffer (strings as an array).
 * Also the conversions KServe JSON <-> WireTensor and the batch helpers
 * (concatenate along dim 0, slice along dim 0).
 */
import type { KserveDatatype, KserveOutputTensor, KserveTensor } from '../../common/kinds/inference.js';

/** onnxruntime Tensor.Type values this engine handles. */
export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export interface WireTensor {
  type: OrtType;
  dims: number[];
  /** Raw little-endian element bytes; string tensors carry `strings` instead. */
  data: ArrayBuffer;
  strings?: string[];
}

export type WireFeeds = Record<string, WireTensor>;

export const KSERVE_TO_ORT: Record<KserveDatatype, OrtType> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

export const ORT_TO_KSERVE: Record<OrtType, KserveDatatype> = Object.fromEntries(
  Object.entries(KSERVE_TO_ORT).map(([k, v]) => [v, k]),
) as Record<OrtType, KserveDatatype>;

export function isOrtType(t: string): t is OrtType {
  return t in ORT_TO_KSERVE;
}

const BYTES_PER_ELEMENT: Record<OrtType, number> = {
  bool: 1,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  float16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  uint64: 8,
  int64: 8,
  float64: 8,
  string: 0,
};

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function byteSize(t: WireTensor): number {
  return t.type === 'string' ? (t.strings ?? []).reduce((a, s) => a + s.length, 0) : t.data.byteLength;
}

type NumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A typed view of a tensor's bytes, the way onnxruntime-node wants it. */
export function typedView(type: Exclude<OrtType, 'string'>, buf: ArrayBuffer): NumericArray {
  switch (type) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint16':
    case 'float16':
      return new Uint16Array(buf);
    case 'int16':
      return new Int16Array(buf);
    case 'uint32':
      return new Uint32Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'uint64':
      return new BigUint64Array(buf);
  }
}

/** float32 -> IEEE half bits (round to nearest even). */
export function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** IEEE half bits -> number. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** A validated KServe JSON tensor -> WireTensor (values were range-checked by the schema). */
export function fromKserve(t: KserveTensor): WireTensor {
  const type = KSERVE_TO_ORT[t.datatype];
  const dims = [...t.shape];
  if (type === 'string') return { type, dims, data: new ArrayBuffer(0), strings: t.data.map(String) };
  const buf = new ArrayBuffer(t.data.length * BYTES_PER_ELEMENT[type]);
  const view = typedView(type, buf);
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    t.data.forEach((v, i) => (view[i] = BigInt(v as number)));
  } else if (type === 'float16') {
    t.data.forEach((v, i) => (view[i] = toHalf(v as number)));
  } else if (type === 'bool') {
    t.data.forEach((v, i) => (view[i] = v ? 1 : 0));
  } else {
    t.data.forEach((v, i) => (view[i] = v as number));
  }
  return { type, dims, data: buf };
}

/** WireTensor -> KServe JSON output tensor. Non-finite floats become null (JSON has no NaN). */
export function toKserve(name: string, t: WireTensor): KserveOutputTensor {
  const datatype = ORT_TO_KSERVE[t.type];
  const shape = [...t.dims];
  if (t.type === 'string') return { name, datatype, shape, data: [...(t.strings ?? [])] };
  const view = typedView(t.type, t.data);
  const data: (number | boolean | null)[] = new Array(view.length);
  for (let i = 0; i < view.length; i++) {
    const raw = view[i]!;
    const v: number | boolean =
      typeof raw === 'bigint' ? Number(raw) : t.type === 'float16' ? fromHalf(raw) : t.type === 'bool' ? raw !== 0 : raw;
    data[i] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  }
  return { name, datatype, shape, data };
}

/** Wraps a Float32Array as a WireTensor (copies only if the view does not span its buffer). */
export function float32Tensor(values: Float32Array, dims: number[]): WireTensor {
  const data =
    values.byteOffset === 0 && values.byteLength === values.buffer.byteLength
      ? (values.buffer as ArrayBuffer)
      : (values.slice().buffer as ArrayBuffer);
  return { type: 'float32', dims, data };
}

/** Concatenates tensors of the same type and non-batch dims along dim 0. */
export function concatBatch(parts: readonly WireTensor[]): WireTensor {
  const first = parts[0];
  if (!first) throw new Error('concatBatch: nothing to concatenate');
  if (parts.length === 1) return first;
  const rows = parts.reduce((a, p) => a + (p.dims[0] ?? 0), 0);
  const dims = [rows, ...first.dims.slice(1)];
  if (first.type === 'string') {
    return { type: 'string', dims, data: new ArrayBuffer(0), strings: parts.flatMap((p) => p.strings ?? []) };
  }
  const total = parts.reduce((a, p) => a + p.data.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.data), offset);
    offset += p.data.byteLength;
  }
  return { type: first.type, dims, data: out.buffer };
}

/** Rows [start, start + count) of a tensor along dim 0 (copied). */
export function sliceBatch(t: WireTensor, start: number, count: number): WireTensor {
  const rows = t.dims[0] ?? 0;
  if (start + count > rows) throw new Error(`sliceBatch: rows ${start}..${start + count} outside 0..${rows}`);
  const dims = [count, ...t.dims.slice(1)];
  const perRow = elementCount(t.dims.slice(1));
  if (t.type === 'string') {
    return { type: 'string', dims, data: new ArrayBuffer(0), strings: (t.strings ?? []).slice(start * perRow, (start + count) * perRow) };
  }
  const bpe = BYTES_PER_ELEMENT[t.type];
  return { type: t.type, dims, data: t.data.slice(start * perRow * bpe, (start + count) * perRow * bpe) };
}
