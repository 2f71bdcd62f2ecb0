import { describe, expect, it } from 'vitest';
import { TASK_EVENT_TYPES, TaskEvents, type TaskEvent } from '../../master/core/task-events.js';
import { taskServiceRig, tick } from '../helpers/task-service-rig.js';

function record(events: TaskEvents): TaskEvent[] {
  const out: TaskEvent[] = [];
  events.on(undefined, (e) => out.push(e));
  return out;
}

describe('TaskEvents (the bus)', () => {
  it('stamps a monotonic seq, a timestamp and the default tenant; delivers in subscription order', () => {
    let now = 5;
    const bus = new TaskEvents(() => now++);
    const order: string[] = [];
    bus.on('worker.online', (e) => order.push(`a${e.seq}`));
    bus.on(['worker.online', 'worker.offline'], (e) => order.push(`b${e.seq}`));
    bus.publish('worker.online', { worker_id: 'w1' }, {} as never);
    bus.publish('worker.offline', { worker_id: 'w1', reason: 'gone' }, {} as never);
    bus.publish('worker.online', { worker_id: 'w2' }, {} as never);
    expect(order).toEqual(['a1', 'b1', 'b2', 'a3', 'b3']);
    expect(bus.lastSeq).toBe(3);
  });

  it('builds nothing when nobody listens, and events are plain JSON', () => {
    const bus = new TaskEvents(() => 1);
    for (const t of TASK_EVENT_TYPES) expect(bus.wants(t)).toBe(false);
    bus.publish('worker.online', { worker_id: 'w' }, {} as never);
    expect(bus.lastSeq).toBe(0); // no seq given out for no one
    const seen: TaskEvent[] = [];
    const off = bus.on('worker.suspect', (e) => seen.push(e));
    expect(bus.wants('worker.suspect')).toBe(true);
    bus.publish('worker.suspect', { worker_id: 'w', reason: 'missed heartbeats' }, {} as never);
    off();
    expect(bus.wants('worker.suspect')).toBe(false);
    expect(JSON.parse(JSON.stringify(seen[0]))).toEqual({ seq: 1, ts: 1, tenant: 'default', type: 'worker.suspect', worker_id: 'w', reason: 'missed heartbeats' });
  });

  it('a subscriber that unsubscribes during delivery does not disturb the others', () => {
    const bus = new TaskEvents(() => 1);
    const got: string[] = [];
    const off = bus.on('worker.online', () => {
      got.push('a');
      off();
    });
    bus.on('worker.online', () => got.push('b'));
    bus.publish('worker.online', { worker_id: 'w' }, {} as never);
    bus.publish('worker.online', { worker_id: 'w' }, {} as never);
    expect(got).toEqual(['a', 'b', 'b']);
  });
});

describe('TaskService publishes every transition exactly once, in order', () => {
  const types = (events: TaskEvent[], id?: string) => events.filter((e) => !id || ('task_id' in e && e.task_id === id)).map((e) => e.type);
  const seqsIncrease = (events: TaskEvent[]) => events.every((e, i) => i === 0 || e.seq === events[i - 1]!.seq + 1);

  it('success path: queued, assigned, started, chunk, succeeded (+ worker online)', async () => {
    const r = taskServiceRig();
    const events = record(r.svc.events);
    r.registry.applyStatus(r.status('w1'));
    const { task } = r.svc.admit({ kind: 'echo', input: { text: 'x' }, sessionId: 's1' });
    await tick();
    const a = r.sent[0]!.tasks[0]!;
    expect(r.started(a, 'w1').disposition).toBe('DISPOSITION_ACCEPTED');
    expect(r.chunk(a, 'w1', 2, 'he').disposition).toBe('DISPOSITION_ACCEPTED');
    expect(r.chunk(a, 'w1', 2, 'he').disposition).toBe('DISPOSITION_DUPLICATE'); // no second event
    expect(r.final(a, 'w1', 'TASK_OUTCOME_SUCCEEDED').disposition).toBe('DISPOSITION_ACCEPTED');
    expect(r.final(a, 'w1', 'TASK_OUTCOME_SUCCEEDED').disposition).toBe('DISPOSITION_DUPLICATE');
    expect(types(events)).toEqual(['worker.online', 'task.queued', 'task.assigned', 'task.started', 'task.chunk', 'task.succeeded']);
    expect(seqsIncrease(events)).toBe(true);
    const chunk = events.find((e) => e.type === 'task.chunk')!;
    expect(chunk).toMatchObject({ task_id: task.id, session_id: 's1', chunk_seq: 2, text: 'he', attempt: 1, tenant: 'default' });
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: 'task.succeeded', task_id: task.id, worker_id: 'w1', kind: 'echo', error: null });
    expect(typeof (done as { run_ms: unknown }).run_ms).toBe('number');
  });

  it('retry, lost lease (worker suspect), failure, cancel, queue expiry and worker offline/draining', async () => {
    const r = taskServiceRig({ maxAttempts: 2, queueTimeoutMs: 10_000 });
    const events = record(r.svc.events);
    r.registry.applyStatus(r.status('w1'));
    const { task: t1 } = r.svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    await r.advance(3001); // lease lost: suspect, retried
    expect(types(events, t1.id)).toEqual(['task.queued', 'task.assigned', 'task.retried']);
    expect(types(events).filter((t) => t === 'worker.suspect')).toHaveLength(1);
    const retried = events.find((e) => e.type === 'task.retried')!;
    expect(retried).toMatchObject({ code: 'HEARTBEAT_TIMEOUT', attempt: 1 });
    expect((retried as { delay_ms: number }).delay_ms).toBeLessThanOrEqual(100);
    r.registry.applyStatus(r.status('w1')); // heard from again
    await r.advance(200);
    const a2 = r.sent.at(-1)!.tasks[0]!;
    expect(r.final(a2, 'w1', 'TASK_OUTCOME_FAILED', { code: 'BOOM', message: 'no' }).disposition).toBe('DISPOSITION_ACCEPTED');
    expect(types(events, t1.id)).toEqual(['task.queued', 'task.assigned', 'task.retried', 'task.assigned', 'task.failed']);

    const { task: t2 } = r.svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    r.svc.cancel(t2.id);
    const a3 = r.sent.at(-1)!.tasks[0]!;
    r.final(a3, 'w1', 'TASK_OUTCOME_CANCELLED');
    expect(types(events, t2.id)).toEqual(['task.queued', 'task.assigned', 'task.cancelled']);

    r.registry.applyStatus(r.status('w1', 1, 'WORKER_STATE_DRAINING'));
    const { task: t3 } = r.svc.admit({ kind: 'echo', input: { text: 'x' } });
    await tick();
    await r.advance(10_001); // nobody takes it
    expect(types(events, t3.id)).toEqual(['task.queued', 'task.expired']);
    r.registry.applyStatus(r.status('w1', 1, 'WORKER_STATE_OFFLINE'));
    expect(types(events).filter((t) => t.startsWith('worker.'))).toEqual(['worker.online', 'worker.suspect', 'worker.draining', 'worker.offline']);
    expect(seqsIncrease(events)).toBe(true);
    expect(events.at(-1)!.seq).toBe(r.svc.events.lastSeq);
  });
});
