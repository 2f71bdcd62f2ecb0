/**
 * Input a worker must survive and input it must accept (PROTOCOL.md §3, §7.1,
 * §10), and result tokens (§9): the worker echoes them, and the master
 * refuses a token it did not issue.
 */
import { randomUUID } from 'node:crypto';
import { assignmentsCodec } from '../../common/wire.js';
import { expect, sleep } from '../suite-context.js';
import type { Step } from '../step.js';

function nested(depth: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

export const malformedStep: Step = {
  checks: ['malformed-ignored'],
  needsWorker: true,
  async run(ctx, report) {
    const id = (label: string) => ctx.forgedId(label);
    const ok = { attempt: 1, kind: 'echo', input: { text: 'must not run' }, result_token: 'forged-token' };
    const mustNotRun: string[] = [];
    const a = (label: string, extra: Record<string, unknown>) => {
      const task_id = id(label);
      mustNotRun.push(task_id);
      return { ...ok, task_id, ...extra };
    };
    const validInBadBatch = { ...ok, task_id: id('valid-in-bad-batch') };
    mustNotRun.push(validInBadBatch.task_id);
    const deepId = id('too-deep');
    const payloads: (string | Buffer)[] = [
      'not json at all',
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      '',
      '[]',
      'null',
      '{"tasks": "nope"}',
      '{"tasks": []}',
      '{}',
      JSON.stringify({ tasks: [a('no-token', { result_token: undefined })] }),
      JSON.stringify({ tasks: [a('no-kind', { kind: undefined })] }),
      JSON.stringify({ tasks: [{ ...ok, attempt: 1 }] }),
      JSON.stringify({ tasks: [a('attempt-zero', { attempt: 0 })] }),
      JSON.stringify({ tasks: [a('attempt-string', { attempt: 'one' })] }),
      JSON.stringify({ tasks: [a('kind-number', { kind: 7 })] }),
      JSON.stringify({ tasks: [a('token-object', { result_token: { x: 1 } })] }),
      JSON.stringify({ tasks: [a('deadline-garbage', { deadline_ms: 'soon' })] }),
      JSON.stringify({ tasks: [validInBadBatch, a('bad-second', { result_token: '' })] }),
      JSON.stringify({ tasks: [{ ...ok, task_id: deepId, input: { text: nested(80) } }] }),
    ];
    for (const p of payloads) await ctx.publishTasks(p);
    for (const c of [
      'garbage',
      '{"action": "CONTROL_ACTION_NOPE"}',
      '{"action": "CONTROL_ACTION_UNSPECIFIED"}',
      '{"action": []}',
      JSON.stringify({ action: 'CONTROL_ACTION_CANCEL', task_id: `not-running-${randomUUID()}`, attempt: 1, reason: 'nothing' }),
      '{"action": "CONTROL_ACTION_LOAD_MODEL", "model_name": "x"}',
    ]) {
      await ctx.publishControl(c);
    }
    await sleep(ctx.ms(1000));
    ctx.requireWorker();
    const ran = ctx.host.recorder.records.filter((r) => mustNotRun.includes(r.taskId));
    expect(ran.length === 0, `results arrived for an assignment that had to be dropped whole: ${ran[0]?.taskId.split('-').slice(1, -5).join('-')}`);
    const t = ctx.submit('echo', { text: 'still serving' });
    const done = await ctx.finished(t.id, ctx.ms(10_000), 'echo after malformed input');
    expect(done.status === 'succeeded', `echo after the malformed messages ended ${done.status}`);
    const status = ctx.host.master.registry.get(ctx.workerId)?.state;
    expect(status === 'online', `the master sees the worker ${status}`);
    report.pass('malformed-ignored', `${payloads.length} malformed assignments and 6 odd control commands dropped; still serving`);
  },
};

export const lenientStep: Step = {
  checks: ['lenient-decoding'],
  needsWorker: true,
  async run(ctx, report) {
    // lowerCamelCase names, 64-bit and 32-bit integers as strings, unknown fields (§3 "receivers MUST accept").
    const echoId = ctx.forgedId('camel-echo');
    const token = `camel-token-${randomUUID()}`;
    await ctx.publishTasks(
      JSON.stringify({
        tasks: [
          {
            taskId: echoId,
            attempt: '1',
            kind: 'echo',
            input: { text: 'camel case' },
            resultToken: token,
            deadlineMs: String(Date.now() + 60_000),
            heartbeatIntervalMs: '1000',
            enqueuedAtMs: Date.now(),
            priority: null,
            added_in_v2: { anything: [1, 2] },
          },
        ],
        masterId: ctx.host.masterId,
        future_field: true,
      }),
    );
    const fin = await ctx.host.recorder.waitForFinal(echoId, ctx.ms(5000));
    expect(fin?.final, `no result for an assignment in lowerCamelCase with an unknown field${ctx.exitNote()}`);
    expect(fin.final.outcome === 'TASK_OUTCOME_SUCCEEDED', `camelCase echo ended ${fin.final.outcome} ${JSON.stringify(fin.final.error)}`);
    expect(fin.token === token, 'the result token of the camelCase assignment was not echoed');
    // Enums by number, camelCase control.
    const sleepAsg = ctx.forged('sleep', { ms: 60_000 }, 'camel-sleep');
    const sleepId = String(sleepAsg['task_id']);
    await ctx.publishTasks([sleepAsg]);
    const started = await ctx.host.recorder.waitForStarted(sleepId, ctx.ms(5000));
    expect(started, 'a forged sleep never started');
    await ctx.publishControl(JSON.stringify({ action: 1, taskId: sleepId, attempt: '1', reason: 'numeric enum', added_in_v2: 1 }));
    const cancelled = await ctx.host.recorder.waitForFinal(sleepId, ctx.ms(5000));
    expect(
      cancelled?.final?.outcome === 'TASK_OUTCOME_CANCELLED',
      `CANCEL as {"action": 1, "taskId": ...} gave ${cancelled?.final?.outcome ?? 'no final'}`,
    );
    report.pass('lenient-decoding', 'camelCase names, integers as strings, enum numbers and unknown fields accepted');
  },
};

export const tokenStep: Step = {
  checks: ['result-token-echoed', 'wrong-token-refused'],
  needsWorker: true,
  async run(ctx, report) {
    const from = ctx.host.spy.mark();
    const t = ctx.submit('sleep', { ms: 1500 });
    const tasksTopic = ctx.topics.workerTasks(ctx.workerId);
    const msg = await ctx.host.spy.waitFor((m) => m.topic === tasksTopic && m.payload.includes(t.id), ctx.ms(5000), from);
    expect(msg, 'the master did not dispatch the task');
    const issued = assignmentsCodec.decode(msg.payload).tasks.find((a) => a.task_id === t.id);
    expect(issued, 'assignment not found in the tasks message');
    const started = await ctx.host.recorder.waitForStarted(t.id, ctx.ms(5000));
    expect(started, `the task never started${ctx.exitNote()}`);
    // A second attempt of the same task that the master never issued.
    const forgedToken = `forged-${randomUUID()}`;
    await ctx.publishTasks([{ ...ctx.forged('echo', { text: 'forged' }, 'x'), task_id: t.id, attempt: issued.attempt + 1, result_token: forgedToken }]);
    const done = await ctx.finished(t.id, ctx.ms(10_000), 'task next to a forged attempt');
    const events = ctx.host.recorder.of(t.id, issued.attempt);
    const bad = events.filter((e) => e.token !== issued.result_token);
    if (done.status === 'succeeded' && done.attempt === issued.attempt && events.length > 0 && bad.length === 0) {
      report.pass('result-token-echoed', `all ${events.length} events of the attempt carried the issued token`);
    } else {
      report.fail('result-token-echoed', `task ${done.status} at attempt ${done.attempt}; ${bad.length} of ${events.length} events carried another token`);
    }
    const forgedEvents = await ctx.host.recorder.waitFor((r) => r.taskId === t.id && r.attempt === issued.attempt + 1 && r.kind === 'final', ctx.ms(5000));
    expect(forgedEvents, 'the worker sent nothing for a second attempt of a running task (deduplicate by task_id AND attempt)');
    expect(forgedEvents.token === forgedToken, 'the worker did not echo the forged token unchanged');
    const refused = ctx.host.rejections.filter((r) => r.taskId === t.id && r.attempt === issued.attempt + 1);
    expect(
      refused.length > 0 && refused.every((r) => r.reason === 'invalid result token'),
      `the master answered ${refused.map((r) => r.reason).join(', ') || 'nothing'} for the forged token`,
    );
    expect(
      JSON.stringify(done.result).includes('slept_ms'),
      `the task's result is ${JSON.stringify(done.result)}: the forged attempt replaced it`,
    );
    report.pass('wrong-token-refused', `${refused.length} events with a token the master did not issue were REJECTED (invalid result token); the real attempt won`);
  },
};
