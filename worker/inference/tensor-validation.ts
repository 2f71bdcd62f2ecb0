/**
 * Checks a request's tensors against what the model declares (names, element
 * types, shapes, batch size) and says what the model expects when they do not
 * match. Also computes the batch key: requests with the same key can share a
 * batch (same dtype and non-batch dims for every input).
 */
import { TaskFailure } from '../handlers/task-handler.js';
import type { ThreadValueMetadata } from './thread-protocol.js';
import { ORT_TO_KSERVE, byteSize, type WireFeeds } from './wire-tensor.js';

export interface ValidatedFeeds {
  /** dim 0 of every input when the model batches, else 1. */
  rows: number;
  key: string;
}

function dtypeName(m: ThreadValueMetadata): string {
  return m.type === '' ? 'non-tensor' : ORT_TO_KSERVE[m.type];
}

export function describeTensor(m: ThreadValueMetadata): string {
  return `${m.name} (${dtypeName(m)} [${m.shape.join(',')}])`;
}

export function describeInputs(model: string, inputs: readonly ThreadValueMetadata[]): string {
  return `model ${model} expects inputs ${inputs.map(describeTensor).join(', ')}`;
}

function bad(message: string): TaskFailure {
  return new TaskFailure('BAD_INPUT', message);
}

export interface ValidateOptions {
  model: string;
  inputs: readonly ThreadValueMetadata[];
  /** > 1 when dim 0 is a batch dim the batcher may concatenate along. */
  maxBatchSize: number;
  maxRequestBytes: number;
}

export function validateFeeds(feeds: WireFeeds, o: ValidateOptions): ValidatedFeeds {
  const names = Object.keys(feeds);
  const expected = new Set(o.inputs.map((m) => m.name));
  const unknown = names.filter((n) => !expected.has(n));
  const missing = o.inputs.filter((m) => !(m.name in feeds)).map((m) => m.name);
  if (unknown.length > 0 || missing.length > 0) {
    const parts = [
      unknown.length > 0 ? `unknown input${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}` : '',
      missing.length > 0 ? `missing input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : '',
    ].filter(Boolean);
    throw bad(`${parts.join('; ')}: ${describeInputs(o.model, o.inputs)}`);
  }
  let rows: number | undefined;
  let bytes = 0;
  const keyParts: string[] = [];
  for (const m of o.inputs) {
    const t = feeds[m.name]!;
    if (m.type === '') throw bad(`input ${m.name} of model ${o.model} is not a tensor; it cannot be fed over KServe`);
    if (t.type !== m.type) {
      throw bad(`input ${m.name}: model ${o.model} expects ${dtypeName(m)}, got ${ORT_TO_KSERVE[t.type]}`);
    }
    const shapeOk =
      m.shape.length === 0 ? true : t.dims.length === m.shape.length && m.shape.every((d, i) => d < 0 || d === t.dims[i]);
    if (!shapeOk) {
      throw bad(`input ${m.name}: model ${o.model} expects shape [${m.shape.join(',')}] (-1 = any), got [${t.dims.join(',')}]`);
    }
    if (o.maxBatchSize > 0) {
      const r = t.dims[0] ?? 0;
      if (r > o.maxBatchSize) {
        throw bad(`input ${m.name}: batch of ${r} is over the max_batch_size ${o.maxBatchSize} of model ${o.model}`);
      }
      if (rows !== undefined && r !== rows) {
        throw bad(`input ${m.name}: dim 0 is ${r} but another input has ${rows}; all inputs of ${o.model} share the batch dim`);
      }
      rows = r;
    }
    bytes += byteSize(t);
    keyParts.push(`${m.name}:${t.type}:${t.dims.slice(1).join('x')}`);
  }
  if (bytes > o.maxRequestBytes) {
    throw bad(`request tensors are ${bytes} bytes, over the limit of ${o.maxRequestBytes} for model ${o.model}`);
  }
  if (rows === 0) throw bad(`inputs of ${o.model} have an empty batch (dim 0 = 0)`);
  return { rows: rows ?? 1, key: keyParts.join('|') };
}
