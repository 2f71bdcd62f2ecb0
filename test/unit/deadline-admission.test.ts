import { describe, expect, it } from 'vitest';
import { DeadlineUnreachableError, ValidationError } from '../../common/errors.js';
import { WaitEstimator } from '../../master/scheduling/wait-estimator.js';
import { taskServiceRig, tick } from '../helpers/task-service-rig.js';

function rig(over = {}) {
  const r = taskServiceRig(over);
  const est = new WaitEstimator(r.svc.events, r.registry, r.clock.now, { priorRunMs: 1000 });
  r.svc.useWaitEstimator(est);
  return r;
}

const sleep = (extra = {}) => ({ kind: 'sleep', input: { ms: 1000 }, ...extra });

describe('deadline admission (TaskService.admit with the wait estimator)', () => {
  it('refuses a deadline the estimated wait exceeds, naming the wait; admits one with slack', async () => {
    const r = rig();
    r.registry.applyStatus(r.status('w1', 1));
    r.svc.admit(sleep()); // runs
    await tick();
    for (let i = 0; i < 3; i++) r.svc.admit(sleep()); // 3 queued: a new one waits ~1000 + 3 * 1000
    let err: unknown;
    try {
      r.svc.admit(sleep({ deadlineMs: 2500 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeadlineUnreachableError);
    expect((err as DeadlineUnreachableError).message).toBe('cannot start in time: estimated wait 4000 ms > deadline 2500 ms');
    expect((err as DeadlineUnreachableError).noCapacity).toBe(false);
    // A higher priority jumps the queue, so its wait is only the running one's rest.
    expect(r.svc.admit(sleep({ deadlineMs: 2500, priority: 5 })).created).toBe(true);
    const { task } = r.svc.admit(sleep({ deadlineMs: 10_000 }));
    expect(task.queueTimeoutMs).toBe(10_000); // queue timeout = deadline
    expect(r.svc.standing(task.id)).toEqual({ position: 4, etaMs: 5000 });
  });

  it('no worker serves the kind: refused as no capacity (HTTP 503)', () => {
    const r = rig();
    expect(() => r.svc.admit(sleep({ deadlineMs: 60_000 }))).toThrow(/no worker serves this task/);
    expect(r.svc.admit(sleep()).created).toBe(true); // without a deadline: queued as before
  });

  it('a task still queued at its deadline expires then', async () => {
    const r = rig();
    r.registry.applyStatus(r.status('w1', 1));
    r.svc.admit(sleep());
    await tick();
    const { task } = r.svc.admit(sleep({ deadlineAtMs: r.clock.now() + 3000 }));
    await r.advance(2999);
    expect(task.status).toBe('queued');
    await r.advance(2);
    expect(task.status).toBe('expired');
  });

  it('cluster setting on: a submit without a deadline is checked against its queue timeout', async () => {
    const r = rig({ admissionDeadlines: true, queueTimeoutMs: 1500 });
    r.registry.applyStatus(r.status('w1', 1));
    r.svc.admit(sleep());
    await tick();
    r.svc.admit(sleep()); // wait 1000: fits
    expect(() => r.svc.admit(sleep())).toThrow(DeadlineUnreachableError); // wait 2000 > 1500
    const off = rig({ queueTimeoutMs: 1500 });
    off.registry.applyStatus(off.status('w1', 1));
    for (let i = 0; i < 4; i++) off.svc.admit(sleep()); // default off: only explicit deadlines are checked
  });

  it('a batch is checked whole before anything is created; later items queue behind earlier ones', async () => {
    const r = rig();
    r.registry.applyStatus(r.status('w1', 1));
    r.svc.admit(sleep());
    await tick();
    const before = r.svc.queue.size;
    expect(() => r.svc.admitMany([sleep({ deadlineMs: 5000 }), sleep({ deadlineMs: 5000 }), sleep({ deadlineMs: 2500 })])).toThrow(DeadlineUnreachableError);
    expect(r.svc.queue.size).toBe(before);
    expect(() => r.svc.admit(sleep({ deadlineMs: 5, deadlineAtMs: r.clock.now() + 5 }))).toThrow(ValidationError);
    expect(() => r.svc.admit(sleep({ deadlineAtMs: r.clock.now() - 1 }))).toThrow(ValidationError);
  });
});
