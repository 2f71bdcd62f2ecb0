import { describe, expect, it } from 'vitest';
import { ScalingDecider } from '../../master/autoscaling/scaling-decider.js';
import { poolMatches, resolveScalingPolicy } from '../../master/autoscaling/scaling-policy.js';
import { ValidationError } from '../../common/errors.js';

const load = (queued: number, inFlight = 0, oldestMs = 0) => ({ queued, inFlight, oldestMs });

describe('scaling policy', () => {
  it('fills in defaults and names the bad field', () => {
    const p = resolveScalingPolicy({ max_workers: 8 });
    expect(p).toMatchObject({ min_workers: 1, max_workers: 8, target_per_worker: 1, scale_down_window_ms: 60_000, actuator: 'none' });
    expect(() => resolveScalingPolicy({ min_workers: 5, max_workers: 2 })).toThrow(/policy.min_workers: must not exceed max_workers/);
    expect(() => resolveScalingPolicy({ actuator: 'swarm' })).toThrow(/policy.service/);
    expect(() => resolveScalingPolicy({ max_wrokers: 3 })).toThrow(ValidationError);
    expect(() => resolveScalingPolicy({ target_per_worker: 0 })).toThrow(/target_per_worker/);
  });

  it('matches pools: *, a kind, kind:model', () => {
    expect(poolMatches('*', 'echo')).toBe(true);
    expect(poolMatches('sleep', 'sleep')).toBe(true);
    expect(poolMatches('sleep', 'echo')).toBe(false);
    expect(poolMatches('llm:a', 'llm', 'a')).toBe(true);
    expect(poolMatches('llm:a', 'llm', 'b')).toBe(false);
    expect(poolMatches('llm:a', 'llm')).toBe(false);
  });
});

describe('scaling decider', () => {
  it('scales up at once to ceil(work / target), at most max_step_up, within [min, max]', () => {
    const d = new ScalingDecider(resolveScalingPolicy({ min_workers: 1, max_workers: 10, target_per_worker: 2, max_step_up: 3 }), 0);
    expect(d.decide(load(0), 1, 0).desired).toBe(1);
    expect(d.decide(load(9, 2), 1, 1000)).toMatchObject({ desired: 4, raw: 6 }); // 11/2 = 6, step 3
    expect(d.decide(load(9, 2), 4, 2000).desired).toBe(6);
    expect(d.decide(load(100, 0), 6, 3000).desired).toBe(9);
    expect(d.decide(load(100, 0), 9, 4000).desired).toBe(10); // max
  });

  it('scales down only after the window, one worker per decision, never below min', () => {
    const d = new ScalingDecider(resolveScalingPolicy({ min_workers: 1, max_workers: 10, scale_down_window_ms: 10_000 }), 0);
    expect(d.decide(load(5), 1, 0).desired).toBe(5);
    let current = 5;
    const downs: number[] = [];
    for (let t = 1000; t <= 30_000; t += 1000) {
      const out = d.decide(load(0), current, t);
      if (out.desired < current) downs.push(t);
      current = out.desired;
    }
    expect(downs[0]).toBeGreaterThan(10_000); // held for the window after the peak
    expect(current).toBe(1);
    expect(downs.length).toBe(4);
  });

  it('adds a worker when the oldest queued task waits too long although the target says enough', () => {
    const d = new ScalingDecider(resolveScalingPolicy({ max_workers: 5, target_per_worker: 10, max_queue_age_ms: 3000 }), 0);
    expect(d.decide(load(3, 1, 1000), 1, 0).desired).toBe(1);
    expect(d.decide(load(3, 1, 4000), 1, 1000)).toMatchObject({ desired: 2, reason: expect.stringMatching(/oldest queued/) });
  });

  it('scales to zero only after the idle period, and from zero at once when work arrives', () => {
    const d = new ScalingDecider(resolveScalingPolicy({ min_workers: 0, max_workers: 3, scale_to_zero_after_ms: 5000, scale_down_window_ms: 1000 }), 0);
    expect(d.decide(load(0, 1), 1, 0).desired).toBe(1);
    expect(d.decide(load(0), 1, 3000).desired).toBe(1);
    expect(d.decide(load(0), 1, 6000).desired).toBe(0);
    // Up windows do not delay the first worker of a pool at zero.
    const up = new ScalingDecider(resolveScalingPolicy({ min_workers: 0, max_workers: 3, scale_up_window_ms: 60_000 }), 0);
    expect(up.decide(load(0), 0, 0).desired).toBe(0);
    expect(up.decide(load(2), 0, 1000).desired).toBe(1);
  });

  it('a load that swings every tick makes no more direction changes than one per window', () => {
    const window = 20_000;
    const d = new ScalingDecider(resolveScalingPolicy({ min_workers: 1, max_workers: 8, scale_down_window_ms: window }), 0);
    let current = 1;
    let reversals = 0;
    let lastDir = 0;
    const T = 600_000;
    for (let t = 0; t < T; t += 1000) {
      const q = (t / 1000) % 2 === 0 ? 8 : 0; // 8 or nothing, alternating each second
      const out = d.decide(load(q), current, t);
      const dir = Math.sign(out.desired - current);
      if (dir !== 0 && lastDir !== 0 && dir !== lastDir) reversals++;
      if (dir !== 0) lastDir = dir;
      current = out.desired;
    }
    expect(reversals).toBeLessThanOrEqual(T / window);
    expect(current).toBe(8); // the peaks recur within every window: it stays up
  });
});
