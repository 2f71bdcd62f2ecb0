import { describe, expect, it } from 'vitest';
import { WaitEstimator, resolveWaitEstimatorOptions } from '../../master/scheduling/wait-estimator.js';
import { taskServiceRig, tick } from '../helpers/task-service-rig.js';

const SLEEP = { kind: 'sleep' };

describe('WaitEstimator (fed by the event stream, injected clock)', () => {
  function rig(capacity = 1) {
    const r = taskServiceRig();
    const est = new WaitEstimator(r.svc.events, r.registry, r.clock.now, { alpha: 0.5, priorRunMs: 1000 });
    r.registry.applyStatus(r.status('w1', capacity));
    return { ...r, est };
  }

  /** Runs one sleep task of `ms` on w1 to the end (advancing the fake clock). */
  async function runOne(r: ReturnType<typeof rig>, ms: number) {
    r.svc.admit({ kind: 'sleep', input: { ms } });
    await tick();
    const a = r.sent.at(-1)!.tasks[0]!;
    r.started(a, 'w1');
    await r.advance(ms);
    r.final(a, 'w1', 'OUTCOME_SUCCEEDED');
    await tick();
  }

  it('uses the prior, then an EWMA of finished run times per key', async () => {
    const r = rig();
    expect(r.est.meanRunMs('sleep')).toBe(1000);
    await runOne(r, 400);
    expect(r.est.meanRunMs('sleep')).toBe(400);
    await runOne(r, 800);
    expect(r.est.meanRunMs('sleep')).toBe(600); // 400 + 0.5 * (800 - 400)
    expect(r.est.meanRunMs('echo')).toBe(1000); // other keys keep the prior
    expect(r.est.estimate(SLEEP, 'sleep', 0)).toMatchObject({ waitMs: 0, slots: 1, freeSlots: 1, samples: 2 });
  });

  it('position p behind a busy slot: time until it frees plus p / slots mean run times', async () => {
    const r = rig();
    await runOne(r, 1000);
    r.svc.admit({ kind: 'sleep', input: { ms: 1000 } });
    await tick();
    r.started(r.sent.at(-1)!.tasks[0]!, 'w1');
    await r.advance(300); // 700 ms left of the running one
    expect(r.est.estimate(SLEEP, 'sleep', 0).waitMs).toBe(700);
    expect(r.est.estimate(SLEEP, 'sleep', 1).waitMs).toBe(1700);
    expect(r.est.estimate(SLEEP, 'sleep', 4).waitMs).toBe(4700);
    await r.advance(2500); // overdue (within its lease): expected to free any moment
    expect(r.est.estimate(SLEEP, 'sleep', 2).waitMs).toBe(2000);
  });

  it('free slots start at once; more capacity divides the wait', async () => {
    const r = rig(4);
    await runOne(r, 1000);
    for (let i = 0; i < 2; i++) r.svc.admit({ kind: 'sleep', input: { ms: 1000 } });
    await tick();
    for (const a of r.sent.at(-1)!.tasks) r.started(a, 'w1');
    const e = r.est.estimate(SLEEP, 'sleep', 1);
    expect(e).toMatchObject({ waitMs: 0, slots: 4, freeSlots: 2 });
    expect(r.est.estimate(SLEEP, 'sleep', 6).waitMs).toBe(1000 + Math.round((4 / 4) * 1000));
  });

  it('no worker serving the key: infinite wait with 0 slots', () => {
    const r = rig();
    expect(r.est.estimate({ kind: 'llm', model: 'm' }, 'llm\u0000m', 0)).toMatchObject({ waitMs: Infinity, slots: 0 });
  });

  it('forgets attempts that were retried or cancelled, and stops listening on close', async () => {
    const r = rig();
    const { task } = r.svc.admit({ kind: 'sleep', input: { ms: 50 } });
    await tick();
    r.started(r.sent.at(-1)!.tasks[0]!, 'w1');
    r.svc.cancel(task.id);
    await r.advance(3000); // cancel grace: closed anyway
    expect(r.est.meanRunMs('sleep')).toBe(1000); // a cancel is no run-time sample
    r.est.close();
    await runOne(r, 10);
    expect(r.est.meanRunMs('sleep')).toBe(1000);
  });

  it('rejects bad options', () => {
    expect(() => resolveWaitEstimatorOptions({ alpha: 0 })).toThrow(RangeError);
    expect(() => resolveWaitEstimatorOptions({ priorRunMs: -1 })).toThrow(RangeError);
  });
});
