/**
 * A cheap estimate of what a task's payloads (input, result) hold in memory,
 * for caches bounded by bytes instead of by count. Strings count two bytes a
 * character (V8's worst case), other values a fixed 8; containers add their
 * keys. It walks structure, never serializes: a 1 MiB string costs O(1).
 */
import type { JsonValue } from '../../common/json-value.js';

export function approxPayloadBytes(v: JsonValue | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string') return 16 + v.length * 2;
  if (typeof v !== 'object') return 8;
  let n = 16;
  if (Array.isArray(v)) {
    for (const x of v) n += approxPayloadBytes(x);
    return n;
  }
  for (const k in v) n += 16 + k.length * 2 + approxPayloadBytes(v[k]);
  return n;
}

/** Default budget for finished tasks' payloads kept in memory (256 MiB). */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024;
