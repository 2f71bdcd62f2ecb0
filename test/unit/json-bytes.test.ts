/** jsonBytes equals Buffer.byteLength(JSON.stringify(v)) for every JSON value, escapes and non-ASCII included. */
import { describe, expect, it } from 'vitest';
import { jsonBytes } from '../../common/json-bytes.js';
import type { JsonValue } from '../../common/json-value.js';

const cases: JsonValue[] = [
  null, true, false, 0, -1.5, 1e21, 123456789, '', 'plain', 'quote " and \\ backslash', 'tab\tnew\nline\r\b\f', '\u0000\u0001\u001f',
  'héllo wörld ✓ 漢字', '😀 pair', '\ud800 lone high', 'lone low \udc00', [], [1, 'two', null, [3]], {}, { a: 1, 'k"ey': 'v', nested: { x: [true, false, { y: 'ü' }] } },
  { text: 'x'.repeat(100_000) },
];

describe('jsonBytes', () => {
  it.each(cases.map((c) => [JSON.stringify(c).slice(0, 40), c]))('%s', (_label, v) => {
    expect(jsonBytes(v as JsonValue)).toBe(Buffer.byteLength(JSON.stringify(v)));
  });

  it('leaves out undefined fields as JSON.stringify does, and random values agree', () => {
    expect(jsonBytes({ a: undefined, b: 1 } as never)).toBe(Buffer.byteLength(JSON.stringify({ a: undefined, b: 1 })));
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const str = () => Array.from({ length: Math.floor(rnd() * 20) }, () => String.fromCharCode(Math.floor(rnd() * 0xffff))).join('');
    const val = (d: number): JsonValue => {
      const r = rnd();
      if (d > 3 || r < 0.3) return r < 0.1 ? null : r < 0.2 ? rnd() * 1e6 - 5e5 : str();
      if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 4) }, () => val(d + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, () => [str(), val(d + 1)]));
    };
    for (let i = 0; i < 500; i++) {
      const v = val(0);
      expect(jsonBytes(v)).toBe(Buffer.byteLength(JSON.stringify(v)));
    }
  });
});
