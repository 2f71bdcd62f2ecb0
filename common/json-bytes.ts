/**
 * The UTF-8 byte length of `JSON.stringify(v)` without building the string:
 * a 1 MiB input measured at admission (and again by the usage ledger) used
 * to leave a 1 MiB string of garbage each time, which under a flood of big
 * submits kept hundreds of MiB waiting for the next full collection. Plain
 * JSON values only (what the master's zod schemas admit).
 */
import type { JsonValue } from './json-value.js';

// Characters JSON.stringify escapes: quote, backslash, controls, and lone surrogates (as \uXXXX).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function stringBytes(s: string): number {
  let n = Buffer.byteLength(s) + 2;
  if (!NEEDS_ESCAPE.test(s)) return n;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) n += 1;
    else if (c < 0x20) n += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 1 : 5;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a pair: 4 bytes, as Buffer.byteLength counts it
      else n += 3; // lone: \uXXXX (6) where byteLength counted 3
    } else if (c >= 0xdc00 && c <= 0xdfff) n += 3;
  }
  return n;
}

export function jsonBytes(v: JsonValue | undefined): number {
  if (v === null) return 4;
  switch (typeof v) {
    case 'string':
      return stringBytes(v);
    case 'number':
      return Number.isFinite(v) ? String(v).length : 4;
    case 'boolean':
      return v ? 4 : 5;
    case 'object': {
      if (Array.isArray(v)) {
        let n = 2 + Math.max(0, v.length - 1);
        for (const x of v) n += x === undefined ? 4 : jsonBytes(x);
        return n;
      }
      let n = 2;
      let fields = 0;
      for (const k in v) {
        const x = (v as Record<string, JsonValue | undefined>)[k];
        if (x === undefined) continue;
        n += stringBytes(k) + 1 + jsonBytes(x);
        fields++;
      }
      return n + Math.max(0, fields - 1);
    }
    default:
      return 0; // undefined at the top: JSON.stringify gives undefined
  }
}
