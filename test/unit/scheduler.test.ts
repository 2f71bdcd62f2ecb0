import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedulableTask } from '../../master/scheduling/scheduler.js';
import { TaskQueue } from '../../master/core/task-queue.js';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import type { WorkerStatus__Output } from '../../common/wire.js';
import { requirementKey, type Requirement } from '../../common/task-kinds.js';

const clock = { now: () => 1000 };

function status(id: string, over: Partial<WorkerStatus__Output> = {}): WorkerStatus__Output {
  return {
    worker_id: id,
    state: 'WORKER_STATE_ONLINE',
    kinds: ['echo', 'sleep'],
    capacity: 1,
    running: 0,
    language: 'typescript',
    version: '1',
    protocol: 'taskwire.v1',
    hostname: 'h',
    pid: 1,
    started_at_ms: 1,
    ts_ms: 1,
    models: [],
    labels: {},
    reason: '',
    load: null,
    ...over,
  } as WorkerStatus__Output;
}

let seq = 0;
function task(id: string, requirement: Requirement = { kind: 'echo' }, priority = 0): SchedulableTask {
  return { id, requirement, key: requirementKey(requirement), priority, seq: ++seq };
}

function setup() {
  const registry = new WorkerRegistry(clock);
  const queue = new TaskQueue<SchedulableTask>();
  return { registry, queue, scheduler: new Scheduler(queue, registry) };
}

describe('Scheduler', () => {
  it('assigns only to idle workers that support the kind; the rest waits', () => {
    const { registry, queue, scheduler } = setup();
    registry.applyStatus(status('w1', { kinds: ['echo'] }));
    queue.push(task('s', { kind: 'sleep' }));
    queue.push(task('e1'));
    queue.push(task('e2'));
    const m = [...scheduler.matches()].map((x) => `${x.task.id}->${x.worker.id}`);
    expect(m).toEqual(['e1->w1']);
    expect(queue.size).toBe(2); // e2 waits for capacity, s for a sleep-capable worker
    scheduler.capacity.release(registry.get('w1'), 'e1', 'finished');
    expect([...scheduler.matches()].map((x) => x.task.id)).toEqual(['e2']);
  });

  it('dispatches higher priority first', () => {
    const { registry, queue, scheduler } = setup();
    registry.applyStatus(status('w1'));
    queue.push(task('low', { kind: 'echo' }, 0));
    queue.push(task('high', { kind: 'echo' }, 9));
    expect([...scheduler.matches()].map((x) => x.task.id)).toEqual(['high']);
  });

  it('prefers the least loaded worker and breaks ties round-robin', () => {
    const { registry, queue, scheduler } = setup();
    registry.applyStatus(status('a', { capacity: 4 }));
    registry.applyStatus(status('b', { capacity: 4 }));
    registry.applyStatus(status('c', { capacity: 4 }));
    for (let i = 0; i < 6; i++) queue.push(task(`t${i}`));
    const who = [...scheduler.matches()].map((x) => x.worker.id);
    expect(who).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    // b finishes two tasks: it is now least loaded and gets the next two.
    scheduler.capacity.releaseAll(registry.get('b')!, 'finished');
    for (let i = 6; i < 8; i++) queue.push(task(`t${i}`));
    expect([...scheduler.matches()].map((x) => x.worker.id)).toEqual(['b', 'b']);
  });

  it('respects capacity > 1 and load as a fraction of capacity', () => {
    const { registry, queue, scheduler } = setup();
    registry.applyStatus(status('big', { capacity: 8 }));
    registry.applyStatus(status('small', { capacity: 1 }));
    for (let i = 0; i < 12; i++) queue.push(task(`t${i}`));
    const counts: Record<string, number> = {};
    for (const m of scheduler.matches()) counts[m.worker.id] = (counts[m.worker.id] ?? 0) + 1;
    expect(counts).toEqual({ big: 8, small: 1 });
    expect(queue.size).toBe(3);
  });

  it('routes model-bound tasks only to workers with that model ready', () => {
    const { registry, queue, scheduler } = setup();
    const model = (name: string, ready: boolean) => ({ kind: 'llm', name, versions: [], ready, provider: 'openai', execution_provider: '', cooldown_until_ms: 0 });
    registry.applyStatus(status('w1', { kinds: ['llm'], models: [model('m-a', true)] }));
    registry.applyStatus(status('w2', { kinds: ['llm'], models: [model('m-b', false)] }));
    queue.push(task('x', { kind: 'llm', model: 'm-b' }));
    queue.push(task('y', { kind: 'llm', model: 'm-a' }));
    expect([...scheduler.matches()].map((m) => `${m.task.id}->${m.worker.id}`)).toEqual(['y->w1']);
    registry.applyStatus(status('w2', { kinds: ['llm'], models: [model('m-b', true)] }));
    expect([...scheduler.matches()].map((m) => `${m.task.id}->${m.worker.id}`)).toEqual(['x->w2']);
  });

  it('never assigns to draining or offline workers', () => {
    const { registry, queue, scheduler } = setup();
    registry.applyStatus(status('d', { state: 'WORKER_STATE_DRAINING' }));
    registry.applyStatus(status('o', { state: 'WORKER_STATE_OFFLINE' }));
    queue.push(task('t'));
    expect([...scheduler.matches()]).toEqual([]);
  });
});

describe('WorkerRegistry', () => {
  it('emits online, offline and treats a new process with the same id as a restart', () => {
    const registry = new WorkerRegistry(clock);
    const events: string[] = [];
    registry.on('online', (w) => events.push(`online:${w.id}`));
    registry.on('offline', (w, r) => events.push(`offline:${w.id}:${r}`));
    registry.applyStatus(status('w'));
    registry.applyStatus(status('w', { running: 1 }));
    registry.applyStatus(status('w', { started_at_ms: 2 }));
    registry.applyStatus(status('w', { state: 'WORKER_STATE_OFFLINE', started_at_ms: 2, reason: 'connection lost' }));
    expect(events).toEqual(['online:w', 'offline:w:restarted', 'online:w', 'offline:w:connection lost']);
    expect(registry.schedulable()).toEqual([]);
  });
});
