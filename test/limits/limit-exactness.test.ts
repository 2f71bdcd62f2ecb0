/**
 * Exact limits: a real master driven at 5x a key's requests-per-window limit
 * over two windows admits 2 x the limit (±1%), with refusals carrying an
 * accurate Retry-After, and nothing is refused once a window is over (no
 * lockout past the window, whatever was refused in it).
 * The window is TASKWIRE_TEST_LIMIT_WINDOW_S seconds (default 3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const WINDOW_S = Number(process.env['TASKWIRE_TEST_LIMIT_WINDOW_S'] ?? 3);
const LIMIT = 60;

describe('limit exactness', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 0, master: { rateLimits: JSON.stringify([{ scope: 'key', requests_per_minute: LIMIT, window_s: WINDOW_S }]) } });
  });
  afterAll(async () => c?.close());

  const submit = async (i: number) => {
    const r = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: `x${i}` } }) });
    await r.arrayBuffer();
    return { status: r.status, retryAfter: Number(r.headers.get('retry-after') ?? 0), at: Date.now() };
  };

  it(`admits ${LIMIT} per ${WINDOW_S} s window under 5x the rate, no lockout after`, async () => {
    const perWindow = LIMIT * 5;
    const stepMs = (WINDOW_S * 1000) / perWindow;
    const start = Date.now();
    const endAt = start + 2 * WINDOW_S * 1000 - 300; // inside the second window
    const pending: Promise<{ status: number; retryAfter: number; at: number }>[] = [];
    for (let i = 0; Date.now() < endAt; i++) {
      pending.push(submit(i));
      const next = start + (i + 1) * stepMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    const results = await Promise.all(pending);
    const admitted = results.filter((r) => r.status === 202).length;
    const refused = results.filter((r) => r.status === 429);
    expect(results.length).toBeGreaterThan(2 * LIMIT * 2); // really drove well past the limit
    expect(results.every((r) => r.status === 202 || r.status === 429)).toBe(true);
    expect(Math.abs(admitted - 2 * LIMIT)).toBeLessThanOrEqual(Math.ceil(2 * LIMIT * 0.01));
    for (const r of refused) expect(r.retryAfter).toBeGreaterThanOrEqual(1), expect(r.retryAfter).toBeLessThanOrEqual(WINDOW_S);
    // After the last refusal's Retry-After, the key is admitted again at once.
    const last = refused.at(-1)!;
    await new Promise((r) => setTimeout(r, Math.max(0, last.at + last.retryAfter * 1000 - Date.now()) + 50));
    expect((await submit(-1)).status).toBe(202);
  }, 60_000);
});
