/**
 * A TaskService with a fake clock, an in-memory store and a recording sink,
 * driven by hand (deadlines run on `advance`). For unit tests of the task
 * lifecycle, the event stream and the capacity owner.
 */
import { TaskService, type AssignmentSink, type TaskServiceOptions } from '../../master/core/task-service.js';
import { ResultIntake } from '../../master/core/result-intake.js';
import { MemoryTaskStore } from '../../master/store/task-store.js';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import { ResultTokens } from '../../common/result-token.js';
import { silentLogger } from '../../common/logger.js';
import type { ControlCommand, TaskAssignment, WorkerStatus__Output } from '../../common/wire.js';
import type { PlacementStrategy } from '../../master/scheduling/placement/placement-strategy.js';

export const tick = () => new Promise((r) => setImmediate(r));

export function taskServiceRig(over: Partial<TaskServiceOptions> = {}, placement?: PlacementStrategy) {
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
  const svc = new TaskService(
    new MemoryTaskStore(1000),
    registry,
    tokens,
    clock,
    silentLogger(),
    {
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
    },
    { placement },
  );
  const intake = new ResultIntake(svc);
  svc.attachSink(sink);
  svc.deadlines.stop(); // driven by hand with the fake clock
  const status = (id: string, capacity = 1, state: WorkerStatus__Output['state'] = 'WORKER_STATE_ONLINE'): WorkerStatus__Output =>
    ({
      worker_id: id, state, kinds: ['echo', 'sleep'], capacity, running: 0, language: 'typescript', version: '1',
      protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, models: [], labels: {}, reason: '', load: null,
    }) as unknown as WorkerStatus__Output;
  const advance = async (ms: number) => {
    now += ms;
    svc.deadlines.runDue();
    await tick();
  };
  const ident = (a: TaskAssignment, worker: string) => ({ task_id: a.task_id!, attempt: a.attempt!, worker_id: worker, result_token: a.result_token! });
  const started = (a: TaskAssignment, worker: string) => intake.handleEvent({ ...ident(a, worker), seq: 1, event: 'started', started: { started_at_ms: now } } as never);
  const chunk = (a: TaskAssignment, worker: string, seq: number, text: string) =>
    intake.handleEvent({ ...ident(a, worker), seq, event: 'chunk', chunk: { text } } as never);
  const final = (a: TaskAssignment, worker: string, outcome: string, error?: { code: string; message: string; retryable?: boolean }) =>
    intake.handleEvent({ ...ident(a, worker), seq: 99, event: 'final', final: { outcome, output: { kind: 'stringValue', stringValue: 'ok' }, error } } as never);
  return { svc, intake, registry, sent, controls, status, advance, started, chunk, final, clock };
}
