import { describe, expect, it } from 'vitest';
import { Capacity } from '../../master/scheduling/capacity.js';
import { taskServiceRig, tick } from '../helpers/task-service-rig.js';

describe('Capacity (the one owner of worker slots)', () => {
  const worker = (capacity: number) => ({ id: 'w', capacity, inFlight: new Set<string>() }) as never;

  it('reserves up to capacity, never twice for one task, and releases with a reason', () => {
    const c = new Capacity();
    const w = worker(2);
    expect(c.reserve(w, 'a')).toBe(true);
    expect(c.reserve(w, 'a')).toBe(false);
    expect(c.reserve(w, 'b')).toBe(true);
    expect(c.reserve(w, 'c')).toBe(false);
    expect(c.free(w)).toBe(0);
    expect(c.release(w, 'a', 'finished')).toBe(true);
    expect(c.release(w, 'a', 'finished')).toBe(false); // not held any more: not counted twice
    expect(c.release(undefined, 'b', 'lost')).toBe(false);
    expect(c.free(w)).toBe(1);
    c.adopt(w, 'x'); // restored attempt: counted whatever the free capacity
    c.adopt(w, 'y');
    expect(c.releaseAll(w, 'drained').sort()).toEqual(['b', 'x', 'y']);
    expect(c.released).toEqual({ finished: 1, cancelled: 0, lost: 0, timed_out: 0, drained: 3 });
  });
});

describe('TaskService releases every slot through the capacity owner, with the reason', () => {
  async function oneRunning(over = {}) {
    const r = taskServiceRig(over);
    r.registry.applyStatus(r.status('w1'));
    const { task } = r.svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    const a = r.sent.at(-1)!.tasks[0]!;
    r.started(a, 'w1');
    expect(r.registry.get('w1')!.inFlight.has(task.id)).toBe(true);
    return { ...r, task, a, held: () => r.registry.get('w1')!.inFlight.size };
  }

  it('finished: a final from the worker (success or failure)', async () => {
    const r = await oneRunning();
    r.final(r.a, 'w1', 'TASK_OUTCOME_SUCCEEDED');
    expect(r.held()).toBe(0);
    expect(r.svc.capacity.released.finished).toBe(1);
    const r2 = await oneRunning();
    r2.final(r2.a, 'w1', 'TASK_OUTCOME_FAILED', { code: 'X', message: 'x', retryable: true });
    expect(r2.svc.capacity.released.finished).toBe(1);
    expect(r2.task.status).toBe('queued'); // retried, and the slot was free for it
  });

  it('cancelled: the worker confirms, or the cancel grace runs out', async () => {
    const r = await oneRunning();
    r.svc.cancel(r.task.id);
    r.final(r.a, 'w1', 'TASK_OUTCOME_CANCELLED');
    expect(r.held()).toBe(0);
    expect(r.svc.capacity.released.cancelled).toBe(1);
    const r2 = await oneRunning({ heartbeatTimeoutMs: 60_000 });
    r2.svc.cancel(r2.task.id);
    await r2.advance(2001);
    expect(r2.held()).toBe(0);
    expect(r2.svc.capacity.released.cancelled).toBe(1);
    expect(r2.task.status).toBe('cancelled');
  });

  it('lost: no heartbeat within the lease, or the worker goes away', async () => {
    const r = await oneRunning();
    await r.advance(3001);
    expect(r.held()).toBe(0);
    expect(r.svc.capacity.released.lost).toBe(1);
    const r2 = await oneRunning();
    r2.registry.applyStatus(r2.status('w1', 1, 'WORKER_STATE_OFFLINE'));
    expect(r2.held()).toBe(0);
    expect(r2.svc.capacity.released.lost).toBe(1);
  });

  it('timed_out: the run timeout', async () => {
    const r = await oneRunning({ taskTimeoutMs: 1000, heartbeatTimeoutMs: 60_000 });
    await r.advance(1001);
    expect(r.held()).toBe(0);
    expect(r.svc.capacity.released.timed_out).toBe(1);
  });

  it('drained: a draining worker goes offline still holding the attempt', async () => {
    const r = await oneRunning();
    r.registry.applyStatus(r.status('w1', 1, 'WORKER_STATE_DRAINING'));
    expect(r.held()).toBe(1); // draining: running tasks keep their slot
    r.registry.applyStatus(r.status('w1', 1, 'WORKER_STATE_OFFLINE'));
    expect(r.held()).toBe(0);
    expect(r.svc.capacity.released.drained).toBe(1);
    expect(r.task.status).toBe('queued'); // re-queued for another worker
  });
});
