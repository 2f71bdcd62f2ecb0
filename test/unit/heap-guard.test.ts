/** The heap guard starts a full collection once large objects pass its limit, and the garbage goes. */
import v8 from 'node:v8';
import { expect, it } from 'vitest';
import { HeapGuard } from '../../master/observability/heap-guard.js';

const largeUsed = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'large_object_space')!.space_used_size;

it('collects big garbage past the limit (and not below it)', async () => {
  const limit = largeUsed() + 64 * 1024 * 1024;
  const guard = new HeapGuard({ largeObjectLimitBytes: limit, intervalMs: 20, minGapMs: 50 });
  try {
    await new Promise((r) => setTimeout(r, 100));
    expect(guard.collections).toBe(0); // below the limit: nothing
    let keep: string[] = [];
    const literal = JSON.stringify('x'.repeat(2 * 1024 * 1024));
    for (let i = 0; i < 48; i++) keep.push(JSON.parse(literal) as string); // 96 MiB of large heap strings, as parsed request bodies are
    keep = []; // now garbage
    const until = Date.now() + 10_000;
    while (guard.collections === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(guard.collections).toBeGreaterThan(0);
    while (largeUsed() > limit && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(largeUsed()).toBeLessThanOrEqual(limit);
    expect(keep).toEqual([]);
  } finally {
    guard.stop();
  }
}, 20_000);
