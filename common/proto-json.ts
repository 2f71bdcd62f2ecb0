/**
 * Strict proto3 JSON codec driven by protobufjs reflection.
 *
 * decode: JSON text -> object of the generated `__Output` shape (original field
 * names, enums as names, 64-bit integers as numbers, defaults filled in, oneof
 * virtual field set). Accepts both original (snake_case) and lowerCamelCase
 * names, integers as numbers or strings, enums as names or numbers, and ignores
 * unknown fields (forward compatibility), as the proto3 JSON mapping allows.
 * Anything else that does not fit the schema is a ProtocolError naming the field.
 *
 * encode: object -> canonical proto3 JSON with original field names, default
 * values omitted, 64-bit integers as strings, google.protobuf.Value as plain JSON.
 */
import protobuf from 'protobufjs';
import { PayloadTooLargeError, ProtocolError } from './errors.js';
import { assertJsonValue, fromValue, toValue, type JsonValue } from './json-value.js';
import { protoRoot } from './proto-root.js';

type Obj = Record<string, unknown>;

const VALUE = '.google.protobuf.Value';
const STRUCT = '.google.protobuf.Struct';
const LIST = '.google.protobuf.ListValue';

/**
 * A type's full name, read once per type: protobufjs computes `fullName` on
 * every read (it walks the parents and joins their names), and the codecs
 * ask it several times per message on the dispatch path (3% of the master's
 * CPU in the core benchmark's profile).
 */
const fullNames = new WeakMap<protobuf.Type, string>();
function nameOf(type: protobuf.Type): string {
  let n = fullNames.get(type);
  if (n === undefined) fullNames.set(type, (n = type.fullName));
  return n;
}

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const UNSIGNED64 = new Set(['uint64', 'fixed64']);

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function parseInteger(v: unknown, path: string, min: number, max: number): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = Number(v);
  else throw new ProtocolError(path, `expected an integer, got ${describe(v)}`);
  if (!Number.isInteger(n)) throw new ProtocolError(path, `expected an integer, got ${v}`);
  if (n < min || n > max) throw new ProtocolError(path, `${v} is out of range [${min}, ${max}]`);
  return n;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v;
}

function decodeScalar(type: string, v: unknown, path: string): unknown {
  if (INT32.has(type)) return parseInteger(v, path, -2147483648, 2147483647);
  if (UINT32.has(type)) return parseInteger(v, path, 0, 4294967295);
  if (INT64.has(type)) {
    return parseInteger(v, path, UNSIGNED64.has(type) ? 0 : Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }
  switch (type) {
    case 'double':
    case 'float':
      if (typeof v === 'number') return v;
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      throw new ProtocolError(path, `expected a number, got ${describe(v)}`);
    case 'bool':
      if (typeof v === 'boolean') return v;
      throw new ProtocolError(path, `expected true or false, got ${describe(v)}`);
    case 'string':
      if (typeof v === 'string') return v;
      throw new ProtocolError(path, `expected a string, got ${describe(v)}`);
    case 'bytes':
      if (typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return Buffer.from(v, 'base64');
      throw new ProtocolError(path, `expected base64 bytes, got ${describe(v)}`);
    default:
      throw new ProtocolError(path, `unsupported scalar type ${type}`);
  }
}

function scalarDefault(type: string): unknown {
  if (type === 'bool') return false;
  if (type === 'string') return '';
  if (type === 'bytes') return Buffer.alloc(0);
  return 0;
}

function decodeEnum(e: protobuf.Enum, v: unknown, path: string): string {
  if (typeof v === 'string' && Object.hasOwn(e.values, v)) return v;
  if (typeof v === 'number' && Number.isInteger(v) && e.valuesById[v] !== undefined) return e.valuesById[v]!;
  throw new ProtocolError(path, `expected one of ${Object.keys(e.values).join(', ')}, got ${describe(v)}`);
}

function decodeSingle(field: protobuf.Field, v: unknown, path: string, plain: boolean): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return decodeEnum(resolved, v, path);
  if (resolved instanceof protobuf.Type) return decodeMessage(resolved, v, path, plain);
  return decodeScalar(field.type, v, path);
}

function fieldDefault(field: protobuf.Field): unknown {
  if (field.map) return {};
  if (field.repeated) return [];
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[0] ?? '';
  if (resolved instanceof protobuf.Type) return null;
  return scalarDefault(field.type);
}

const jsonNameIndex = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function fieldByJsonKey(type: protobuf.Type, key: string): protobuf.Field | undefined {
  const direct = type.fields[key];
  if (direct) return direct;
  let index = jsonNameIndex.get(type);
  if (!index) {
    index = new Map();
    for (const f of type.fieldsArray) index.set(protobuf.util.camelCase(f.name), f);
    jsonNameIndex.set(type, index);
  }
  return index.get(key);
}

/**
 * `plain`: google.protobuf.Value / Struct / ListValue stay plain JSON in the
 * decoded object (checked once, not converted), for codecs whose users want
 * JSON on both sides (the MQTT assignments: task input JSON -> JSON).
 */
export function decodeMessage(type: protobuf.Type, json: unknown, path = '', plain = false): Obj {
  const name = nameOf(type);
  if (plain && (name === VALUE || name === STRUCT || name === LIST)) {
    if (name === STRUCT && !isPlainObject(json)) throw new ProtocolError(path, `expected an object, got ${describe(json)}`);
    if (name === LIST && !Array.isArray(json)) throw new ProtocolError(path, `expected an array, got ${describe(json)}`);
    assertJsonValue(json, path);
    return json as Obj;
  }
  // toValue checks the JSON itself (finite numbers, depth, no non-JSON types).
  if (name === VALUE) {
    return toValue(json as JsonValue, path) as Obj;
  }
  if (name === STRUCT) {
    if (!isPlainObject(json)) throw new ProtocolError(path, `expected an object, got ${describe(json)}`);
    return { fields: (toValue(json as JsonValue, path) as { structValue: Obj }).structValue.fields };
  }
  if (name === LIST) {
    if (!Array.isArray(json)) throw new ProtocolError(path, `expected an array, got ${describe(json)}`);
    return { values: (toValue(json as JsonValue, path) as { listValue: Obj }).listValue.values };
  }
  if (!isPlainObject(json)) throw new ProtocolError(path, `expected an object, got ${describe(json)}`);
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    if (!field.partOf) out[field.name] = fieldDefault(field);
  }
  for (const [key, v] of Object.entries(json)) {
    const field = fieldByJsonKey(type, key);
    if (!field) continue; // unknown fields are ignored (forward compatibility)
    const fpath = join(path, field.name);
    const isValue = field.resolvedType instanceof protobuf.Type && nameOf(field.resolvedType) === VALUE;
    if (v === null && !isValue) continue; // null means "default" in proto3 JSON
    if (field.map) {
      if (!isPlainObject(v)) throw new ProtocolError(fpath, `expected an object, got ${describe(v)}`);
      const map: Obj = {};
      const keyType = (field as unknown as protobuf.MapField).keyType;
      for (const [mk, mv] of Object.entries(v)) {
        if (keyType !== 'string') decodeScalar(keyType, mk, `${fpath}[${mk}]`);
        map[mk] = decodeSingle(field, mv, `${fpath}[${mk}]`, plain);
      }
      out[field.name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw new ProtocolError(fpath, `expected an array, got ${describe(v)}`);
      out[field.name] = v.map((item, i) => decodeSingle(field, item, `${fpath}[${i}]`, plain));
    } else {
      out[field.name] = decodeSingle(field, v, fpath, plain);
    }
    if (field.partOf) {
      const oneof = field.partOf.name;
      if (out[oneof] !== undefined && out[oneof] !== field.name) {
        throw new ProtocolError(fpath, `only one of ${field.partOf.oneof.join(', ')} may be set`);
      }
      out[oneof] = field.name;
    }
  }
  return out;
}

function encodeSingle(field: protobuf.Field, v: unknown, plain: boolean): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    return typeof v === 'number' ? (resolved.valuesById[v] ?? v) : v;
  }
  if (resolved instanceof protobuf.Type) return encodeMessage(resolved, v, plain);
  if (INT64.has(field.type)) return String(v);
  if (field.type === 'bytes' && v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if ((field.type === 'double' || field.type === 'float') && typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  return v;
}

function isDefault(field: protobuf.Field, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (field.map) return Object.keys(v as Obj).length === 0;
  if (field.repeated) return (v as unknown[]).length === 0;
  if (field.partOf) return false; // a set oneof member is always written
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return v === 0 || v === resolved.valuesById[0];
  if (resolved instanceof protobuf.Type) return false;
  if (field.type === 'bytes') return (v as Uint8Array).length === 0;
  return v === 0 || v === '' || v === false;
}

export function encodeMessage(type: protobuf.Type, obj: unknown, plain = false): unknown {
  const name = nameOf(type);
  if (plain && (name === VALUE || name === STRUCT || name === LIST)) return obj;
  if (name === VALUE) return fromValue(obj as never);
  if (name === STRUCT) return fromValue({ kind: 'structValue', structValue: obj as never });
  if (name === LIST) return fromValue({ kind: 'listValue', listValue: obj as never });
  const src = obj as Obj;
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const v = src[field.name];
    if (isDefault(field, v)) continue;
    if (field.map) {
      const m: Obj = {};
      for (const [k, mv] of Object.entries(v as Obj)) m[k] = encodeSingle(field, mv, plain);
      out[field.name] = m;
    } else if (field.repeated) {
      out[field.name] = (v as unknown[]).map((item) => encodeSingle(field, item, plain));
    } else {
      out[field.name] = encodeSingle(field, v, plain);
    }
  }
  return out;
}

/** A typed codec for one message type of the taskwire.v1 package. */
export interface JsonCodec<In, Out> {
  readonly typeName: string;
  /** Parses proto3 JSON bytes; throws ProtocolError / PayloadTooLargeError. */
  decode(payload: Buffer | string): Out;
  /** Validates an already-parsed JSON value. */
  fromJson(json: unknown): Out;
  encode(message: In): Buffer;
  toJson(message: In): JsonValue;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface JsonCodecOptions {
  /** Keep google.protobuf.Value fields as plain JSON in memory (see decodeMessage). */
  plainValues?: boolean;
}

export function jsonCodec<In, Out>(typeName: string, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES, options: JsonCodecOptions = {}): JsonCodec<In, Out> {
  const plain = options.plainValues ?? false;
  let type: protobuf.Type | undefined;
  const t = (): protobuf.Type => (type ??= protoRoot().lookupType(typeName));
  return {
    typeName,
    decode(payload) {
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      if (size > maxBytes) throw new PayloadTooLargeError(typeName, size, maxBytes);
      let json: unknown;
      try {
        json = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch (err) {
        throw new ProtocolError('', `not valid JSON: ${(err as Error).message}`);
      }
      return decodeMessage(t(), json, '', plain) as Out;
    },
    fromJson(json) {
      return decodeMessage(t(), json, '', plain) as Out;
    },
    encode(message) {
      return Buffer.from(JSON.stringify(encodeMessage(t(), message, plain)));
    },
    toJson(message) {
      return encodeMessage(t(), message, plain) as JsonValue;
    },
  };
}
