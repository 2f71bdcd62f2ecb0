import { describe, expect, it } from 'vitest';
import { TaskRunner } from '../../worker/task-runner.js';
import type { ResultReporter } from '../../worker/result-reporter.js';
import type { TaskContext, TaskHandler, TaskOutput } from '../../worker/handlers/task-handler.js';
import type { ResultEvent } from '../../common/gen/taskwire/v1/ResultEvent.js';
import type { TaskAssignment__Output } from '../../common/wire.js';
import { silentLogger } from '../../common/logger.js';

const tick = () => new Promise((r) => setImmediate(r));

function setup(run: (ctx: TaskContext) => Promise<TaskOutput>) {
  const sent: ResultEvent[] = [];
  const retracted: ResultEvent[] = [];
  const reporter = { send: (e: ResultEvent) => sent.push(e), retract: (e: ResultEvent) => retracted.push(e) } as unknown as ResultReporter;
  const handler: TaskHandler = { kind: 'probe', run };
  const runner = new TaskRunner('w-1', new Map([['probe', handler]]), reporter, silentLogger(), { onChange: () => undefined });
  let n = 0;
  const assign = (over: Partial<TaskAssignment__Output> = {}): TaskAssignment__Output =>
    ({
      task_id: `t-${++n}`, attempt: 1, kind: 'probe', input: null, result_token: 'tok', deadline_ms: Date.now() + 60_000, priority: 0,
      enqueued_at_ms: 0, heartbeat_interval_ms: 0, secret_names: [], stream: false, ...over,
    }) as TaskAssignment__Output;
  const finalOf = (id: string) => sent.find((e) => e.task_id === id && e.event === 'final')?.final;
  return { runner, sent, retracted, assign, finalOf };
}

describe('TaskRunner', () => {
  it('a quick task: STARTED then final with increasing seq, and the STARTED is retracted (the final carries started_at_ms)', async () => {
    const { runner, sent, retracted, assign, finalOf } = setup(async () => ({ output: { ok: true } }));
    const a = assign();
    runner.start(a);
    await tick();
    expect(sent.map((e) => [e.event, e.seq])).toEqual([['started', 1], ['final', 2]]);
    expect(retracted).toEqual([sent[0]]);
    expect(finalOf(a.task_id)).toMatchObject({ outcome: 'TASK_OUTCOME_SUCCEEDED', last_seq: 1 });
    expect(finalOf(a.task_id)!.started_at_ms).toBe(sent[0]!.started!.started_at_ms);
  });

  it('an abort before the handler looks at its signal is still seen: the signal comes already aborted, with the reason', async () => {
    let seen: { aborted: boolean; reason: unknown } | undefined;
    const { runner, assign, finalOf } = setup(async (ctx) => {
      await tick(); // cancelled meanwhile, before this handler ever touched ctx.signal
      seen = { aborted: ctx.signal.aborted, reason: ctx.signal.reason };
      throw ctx.signal.reason;
    });
    const a = assign();
    runner.start(a);
    expect(runner.cancel(a.task_id, 1, 'user pressed stop')).toBe(true);
    await tick();
    await tick();
    expect(seen?.aborted).toBe(true);
    expect((seen?.reason as Error).message).toBe('user pressed stop');
    expect(finalOf(a.task_id)).toMatchObject({ outcome: 'TASK_OUTCOME_CANCELLED', error: { code: 'CANCELLED' } });
  });

  it('a handler already listening gets the abort event; a task past its deadline at start fails DEADLINE_EXCEEDED', async () => {
    const { runner, assign, finalOf } = setup((ctx) =>
      ctx.signal.aborted
        ? Promise.reject(ctx.signal.reason)
        : new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
    );
    const a = assign();
    runner.start(a);
    await tick();
    runner.cancel(a.task_id, 1, 'stop');
    await tick();
    expect(finalOf(a.task_id)).toMatchObject({ outcome: 'TASK_OUTCOME_CANCELLED' });
    const late = assign({ deadline_ms: Date.now() - 1 });
    runner.start(late);
    await tick();
    await tick();
    expect(finalOf(late.task_id)).toMatchObject({ outcome: 'TASK_OUTCOME_FAILED', error: { code: 'DEADLINE_EXCEEDED', retryable: true } });
  });
});
