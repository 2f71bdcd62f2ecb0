/**
 * Plain JSON <-> google.protobuf.Value (the object form grpc-js / protobufjs use).
 */
import type { Value, Value__Output } from './gen/google/protobuf/Value.js';
import { ProtocolError } from './errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const MAX_JSON_DEPTH = 64;

export function toValue(json: JsonValue, path = '', depth = 0): Value {
  if (depth > MAX_JSON_DEPTH) throw new ProtocolError(path, `nested deeper than ${MAX_JSON_DEPTH}`);
  if (json === null) return { nullValue: 'NULL_VALUE', kind: 'nullValue' };
  switch (typeof json) {
    case 'boolean':
      return { boolValue: json, kind: 'boolValue' };
    case 'number':
      if (!Number.isFinite(json)) throw new ProtocolError(path, 'numbers must be finite');
      return { numberValue: json, kind: 'numberValue' };
    case 'string':
      return { stringValue: json, kind: 'stringValue' };
    case 'object':
      if (Array.isArray(json)) {
        return { listValue: { values: json.map((v, i) => toValue(v, `${path}[${i}]`, depth + 1)) }, kind: 'listValue' };
      }
      {
        const fields: Record<string, Value> = {};
        for (const [k, v] of Object.entries(json)) fields[k] = toValue(v, path ? `${path}.${k}` : k, depth + 1);
        return { structValue: { fields }, kind: 'structValue' };
      }
    default:
      throw new ProtocolError(path, `not a JSON value (${typeof json})`);
  }
}

export function fromValue(value: Value__Output | Value | null | undefined, depth = 0): JsonValue {
  if (value == null) return null;
  if (depth > MAX_JSON_DEPTH) throw new ProtocolError('', `nested deeper than ${MAX_JSON_DEPTH}`);
  switch (value.kind) {
    case 'boolValue':
      return Boolean(value.boolValue);
    case 'numberValue':
      return Number(value.numberValue);
    case 'stringValue':
      return String(value.stringValue ?? '');
    case 'listValue':
      return (value.listValue?.values ?? []).map((v) => fromValue(v, depth + 1));
    case 'structValue': {
      const out: { [key: string]: JsonValue } = {};
      const fields = value.structValue?.fields ?? {};
      for (const [k, v] of Object.entries(fields)) out[k] = fromValue(v, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

/** Checks that an unknown parsed value is JSON (finite numbers, bounded depth). */
export function assertJsonValue(value: unknown, path = '', depth = 0): asserts value is JsonValue {
  if (depth > MAX_JSON_DEPTH) throw new ProtocolError(path, `nested deeper than ${MAX_JSON_DEPTH}`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ProtocolError(path, 'numbers must be finite');
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertJsonValue(v, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertJsonValue(v, path ? `${path}.${k}` : k, depth + 1);
    return;
  }
  throw new ProtocolError(path, `not a JSON value (${typeof value})`);
}
