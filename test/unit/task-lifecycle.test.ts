import { describe, expect, it } from 'vitest';
import { TaskService, type AssignmentSink } from '../../master/core/task-service.js';
import { ResultIntake } from '../../master/core/result-intake.js';
import { MemoryTaskStore } from '../../master/store/task-store.js';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import { ResultTokens } from '../../common/result-token.js';
import { silentLogger } from '../../common/logger.js';
import { canTransition, transition } from '../../master/core/task-record.js';
import { backoffMs } from '../../master/core/deadlines.js';
import type { ControlCommand, TaskAssignment, WorkerStatus__Output } from '../../common/wire.js';

const tick = () => new Promise((r) => setImmediate(r));

function setup(over: Partial<ConstructorParameters<typeof TaskService>[5]> = {}) {
  let now = 1_000_000;
  const clock = { now: () => now };
  const registry = new WorkerRegistry(clock);
  const sent: { worker: string; tasks: TaskAssignment[] }[] = [];
  const controls: { worker: string; cmd: ControlCommand }[] = [];
  const sink: AssignmentSink = {
    publishAssignments: (worker, tasks) => sent.push({ worker, tasks }),
    publishControl: (worker, cmd) => controls.push({ worker, cmd }),
  };
  const tokens = new ResultTokens('a-secret-that-is-long-enough-123');
  const svc = new TaskService(new MemoryTaskStore(1000), registry, tokens, clock, silentLogger(), {
    maxAttempts: 3,
    taskTimeoutMs: 60_000,
    queueTimeoutMs: 0,
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 3000,
    maxInputBytes: 1 << 20,
    retryBaseMs: 100,
    retryMaxMs: 1000,
    cancelGraceMs: 2000,
    ...over,
  });
  const intake = new ResultIntake(svc);
  svc.attachSink(sink);
  svc.deadlines.stop(); // driven by hand with the fake clock
  const worker = (id: string, capacity = 1): WorkerStatus__Output => ({
    worker_id: id, state: 'WORKER_STATE_ONLINE', kinds: ['echo', 'sleep'], capacity, running: 0, language: 'typescript', version: '1',
    protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, models: [], labels: {}, reason: '', load: null, metrics: null, features: [],
  });
  const advance = async (ms: number) => {
    now += ms;
    svc.deadlines.runDue();
    await tick();
  };
  const ev = (a: TaskAssignment, worker: string, seq: number) => ({
    task_id: a.task_id!, attempt: a.attempt!, worker_id: worker, result_token: a.result_token!, seq,
  });
  return { svc, intake, registry, sent, controls, worker, advance, ev, clock };
}

describe('task lifecycle with leases (fake clock)', () => {
  it('re-dispatches an attempt whose heartbeats stop, with attempt + 1 after a backoff, then dead-letters', async () => {
    const { svc, registry, sent, worker, advance } = setup();
    registry.applyStatus(worker('w1'));
    const { task } = svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    expect(sent).toHaveLength(1);
    expect(task.status).toBe('assigned');
    await advance(3001); // no STARTED / heartbeat within 3 s
    expect(task.status).toBe('queued');
    expect(task.history.at(-1)!.reason).toMatch(/no heartbeat .* retry in \d+ ms/);
    expect(registry.get('w1')!.inFlight.size).toBe(0);
    expect(registry.get('w1')!.suspect).toBe(true);
    await advance(1000); // backoff elapsed, but the only worker is suspect
    expect(task.status).toBe('queued');
    registry.applyStatus(worker('w1')); // it is heard from again
    await tick();
    expect(task.status).toBe('assigned');
    expect(task.attempt).toBe(2);
    expect(sent.at(-1)!.tasks[0]!.attempt).toBe(2);
    await advance(3001);
    await advance(1000);
    registry.applyStatus(worker('w1'));
    await tick();
    expect(task.attempt).toBe(3);
    await advance(3001);
    expect(task.status).toBe('expired');
    expect(task.error!.code).toBe('HEARTBEAT_TIMEOUT');
    expect(task.error!.message).toMatch(/3 of 3 attempts used/);
  });

  it('heartbeats keep a long attempt alive; the run timeout ends it', async () => {
    const { svc, intake, registry, sent, controls, worker, advance, ev } = setup({ maxAttempts: 1, taskTimeoutMs: 10_000 });
    registry.applyStatus(worker('w1'));
    const { task } = svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    const a = sent[0]!.tasks[0]!;
    expect(intake.handleEvent({ ...ev(a, 'w1', 1), event: 'started', started: { started_at_ms: 0 } } as never).disposition).toBe('DISPOSITION_ACCEPTED');
    for (let i = 2; i < 10; i++) {
      await advance(1000);
      intake.handleEvent({ ...ev(a, 'w1', i), event: 'heartbeat', heartbeat: { ts_ms: 0 } } as never);
    }
    expect(task.status).toBe('running');
    await advance(2500);
    expect(task.status).toBe('expired');
    expect(task.error!.code).toBe('RUN_TIMEOUT');
    expect(controls.at(-1)!.cmd.action).toBe('CONTROL_ACTION_CANCEL');
  });

  it('notices silence after many small renewals (heartbeats far more often than the timeout)', async () => {
    const { svc, intake, registry, sent, worker, advance, ev } = setup({ heartbeatTimeoutMs: 1500, maxAttempts: 1 });
    registry.applyStatus(worker('w1'));
    const { task } = svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    const a = sent[0]!.tasks[0]!;
    for (let i = 1; i <= 10; i++) {
      await advance(300);
      intake.handleEvent({ ...ev(a, 'w1', i), event: 'heartbeat', heartbeat: { ts_ms: 0 } } as never);
    }
    expect(task.status).toBe('assigned');
    for (let i = 0; i < 6; i++) await advance(300); // 1.8 s of silence
    expect(task.status).toBe('expired');
    expect(task.error!.code).toBe('HEARTBEAT_TIMEOUT');
  });

  it('gives no new work to a worker whose lease expired until it is heard from again', async () => {
    const { svc, intake, registry, sent, worker, advance, ev } = setup();
    registry.applyStatus(worker('frozen'));
    const first = svc.admit({ kind: 'sleep', input: { ms: 100000 } }).task;
    await tick();
    registry.applyStatus(worker('healthy'));
    await advance(3001); // frozen's lease expires
    expect(registry.get('frozen')!.suspect).toBe(true);
    await advance(1000); // retry backoff
    expect(first.workerId).toBe('healthy');
    const second = svc.admit({ kind: 'echo', input: { text: 'x' } }).task;
    await tick();
    expect(second.status).toBe('queued'); // healthy is full (capacity 1); frozen is skipped
    // frozen speaks again (a late event; fenced, but proof of life)
    intake.handleEvent({ ...ev(sent[0]!.tasks[0]!, 'frozen', 5), event: 'heartbeat', heartbeat: { ts_ms: 0 } } as never);
    registry.applyStatus(worker('frozen'));
    await tick();
    expect(second.workerId).toBe('frozen');
  });

  it('expires a task that waits in the queue too long', async () => {
    const { svc, advance } = setup({ queueTimeoutMs: 5000 });
    const { task } = svc.admit({ kind: 'echo', input: { text: 'x' } });
    await advance(4999);
    expect(task.status).toBe('queued');
    await advance(2);
    expect(task.status).toBe('expired');
    expect(task.error!.code).toBe('QUEUE_TIMEOUT');
    expect(svc.queue.size).toBe(0);
  });

  it('fences results: wrong token, superseded attempt, second final; a re-sent final is DUPLICATE', async () => {
    const { svc, intake, registry, sent, worker, advance, ev } = setup();
    registry.applyStatus(worker('w1'));
    registry.applyStatus(worker('w2'));
    const { task } = svc.admit({ kind: 'echo', input: { text: 'x' } });
    await tick();
    const first = sent[0]!.tasks[0]!;
    const firstWorker = sent[0]!.worker;
    await advance(3001); // attempt 1 lost
    await advance(1000);
    const second = sent[1]!.tasks[0]!;
    const secondWorker = sent[1]!.worker;
    const final = (a: TaskAssignment, w: string, text: string) =>
      ({ ...ev(a, w, 9), event: 'final', final: { outcome: 'TASK_OUTCOME_SUCCEEDED', output: { kind: 'stringValue', stringValue: text } } }) as never;
    expect(intake.handleEvent(final(first, firstWorker, 'stale')).disposition).toBe('DISPOSITION_REJECTED');
    expect(intake.handleEvent({ ...(final(second, secondWorker, 'forged') as object), result_token: 'nope' } as never).disposition).toBe('DISPOSITION_REJECTED');
    expect(intake.handleEvent(final(second, secondWorker, 'good')).disposition).toBe('DISPOSITION_ACCEPTED');
    expect(intake.handleEvent(final(second, secondWorker, 'again')).disposition).toBe('DISPOSITION_DUPLICATE');
    expect(intake.handleEvent(final(first, firstWorker, 'late')).disposition).toBe('DISPOSITION_REJECTED');
    expect(task.status).toBe('succeeded');
    expect(task.result).toBe('good');
    expect(svc.counters.rejectedResults).toBe(3);
  });

  it('retries retryable failures with backoff and fails for good on a non-retryable one', async () => {
    const { svc, intake, registry, sent, worker, advance, ev } = setup();
    registry.applyStatus(worker('w1'));
    const { task } = svc.admit({ kind: 'echo', input: { text: 'x' } });
    await tick();
    const fail = (a: TaskAssignment, retryable: boolean) =>
      ({ ...ev(a, 'w1', 2), event: 'final', final: { outcome: 'TASK_OUTCOME_FAILED', error: { code: 'PROVIDER_UNAVAILABLE', message: 'busy', retryable } } }) as never;
    intake.handleEvent(fail(sent[0]!.tasks[0]!, true));
    expect(task.status).toBe('queued');
    await advance(1000);
    expect(task.attempt).toBe(2);
    intake.handleEvent(fail(sent[1]!.tasks[0]!, false));
    expect(task.status).toBe('failed');
    expect(task.error).toEqual({ code: 'PROVIDER_UNAVAILABLE', message: 'busy' });
  });

  it('leaves no deadline behind once tasks end (succeeded after a retry, failed, cancelled while queued)', async () => {
    const { svc, intake, registry, sent, worker, advance, ev } = setup({ queueTimeoutMs: 3_600_000 });
    registry.applyStatus(worker('w1'));
    const retried = svc.admit({ kind: 'echo', input: { text: 'a' } }).task;
    await tick();
    expect(svc.deadlines.size).toBe(3); // queue, run, lease
    await advance(3001); // attempt 1 lost: its run and lease deadlines go, a retry deadline comes
    expect(svc.deadlines.size).toBe(2); // queue, retry
    await advance(1000);
    registry.applyStatus(worker('w1')); // heard from again (a lost lease made it suspect)
    await tick();
    expect(retried.attempt).toBe(2);
    const a2 = sent.at(-1)!.tasks[0]!;
    intake.handleEvent({ ...ev(a2, 'w1', 9), event: 'final', final: { outcome: 'TASK_OUTCOME_SUCCEEDED', output: { kind: 'stringValue', stringValue: 'ok' } } } as never);
    expect(retried.status).toBe('succeeded');
    expect(svc.deadlines.size).toBe(0);
    const failed = svc.admit({ kind: 'echo', input: { text: 'b' } }).task;
    await tick();
    const fa = sent.at(-1)!.tasks[0]!;
    intake.handleEvent({ ...ev(fa, 'w1', 2), event: 'final', final: { outcome: 'TASK_OUTCOME_FAILED', error: { code: 'BAD_INPUT', message: 'no', retryable: false } } } as never);
    expect(failed.status).toBe('failed');
    registry.applyStatus({ ...worker('w1'), state: 'WORKER_STATE_DRAINING' });
    const queued = svc.admit({ kind: 'echo', input: { text: 'c' } }).task;
    await tick();
    expect(queued.status).toBe('queued');
    svc.cancel(queued.id);
    expect(queued.status).toBe('cancelled');
    expect(svc.deadlines.size).toBe(0);
  });

  it('cancels a running task: control to the worker, CANCELLED confirms, capacity is freed', async () => {
    const { svc, intake, registry, sent, controls, worker, ev } = setup();
    registry.applyStatus(worker('w1'));
    const { task } = svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    svc.cancel(task.id);
    expect(controls[0]).toMatchObject({ worker: 'w1', cmd: { action: 'CONTROL_ACTION_CANCEL', task_id: task.id, attempt: 1 } });
    intake.handleEvent({ ...ev(sent[0]!.tasks[0]!, 'w1', 2), event: 'final', final: { outcome: 'TASK_OUTCOME_CANCELLED' } } as never);
    expect(task.status).toBe('cancelled');
    expect(registry.get('w1')!.inFlight.size).toBe(0);
  });

  it('closes a cancel the worker never confirms after the grace period (no retry)', async () => {
    const { svc, registry, worker, advance } = setup();
    registry.applyStatus(worker('w1'));
    const { task } = svc.admit({ kind: 'sleep', input: { ms: 100000 } });
    await tick();
    svc.cancel(task.id);
    await advance(2001);
    expect(task.status).toBe('cancelled');
    expect(registry.get('w1')!.inFlight.size).toBe(0);
  });

  it('returns the existing task for a repeated idempotency key', () => {
    const { svc } = setup();
    const a = svc.admit({ kind: 'echo', input: { text: 'x' }, idempotencyKey: 'k1' });
    const b = svc.admit({ kind: 'echo', input: { text: 'y' }, idempotencyKey: 'k1' });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.task.id).toBe(a.task.id);
    expect(svc.queue.size).toBe(1);
  });
});

describe('transition table and backoff', () => {
  it('allows only the documented transitions', () => {
    expect(canTransition('queued', 'assigned')).toBe(true);
    expect(canTransition('running', 'queued')).toBe(true);
    expect(canTransition('succeeded', 'running')).toBe(false);
    expect(canTransition('queued', 'running')).toBe(false);
    const t = { status: 'succeeded', history: [] } as never;
    expect(() => transition(t, 'running', 0)).toThrow(/cannot go from succeeded to running/);
  });
  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(1, 100, 1000, () => 0)).toBe(50);
    expect(backoffMs(1, 100, 1000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 1000, () => 1)).toBe(400);
    expect(backoffMs(10, 100, 1000, () => 1)).toBe(1000);
  });
});
