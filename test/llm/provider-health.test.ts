import { describe, expect, it } from 'vitest';
import { ProviderHealth } from '../../worker/handlers/llm/provider-health.js';

describe('ProviderHealth', () => {
  it('is ready again when its cool-down timer fires, even if the wall clock lags the timer', async () => {
    const now = 1_000_000; // a clock that does not move: Date.now() and timers can disagree by a millisecond
    const seen: boolean[] = [];
    const health: ProviderHealth = new ProviderHealth({ failureThreshold: 2, cooldownMs: 20, clock: { now: () => now }, onChange: () => seen.push(health.ready()) });
    expect(health.recordFailure()).toBe(false);
    expect(health.recordFailure()).toBe(true); // cool-down starts
    expect(health.ready()).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(seen).toEqual([false, true]);
    expect(health.ready()).toBe(true);
    health.close();
  });
});
