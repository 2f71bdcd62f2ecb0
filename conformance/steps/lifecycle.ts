/**
 * The worker's life: drain and resume (§10), reconnection after a broker
 * restart (§6.5), the Last Will on a crash (§6.1), and graceful shutdown on
 * SIGTERM (§12).
 */
import { workerStatusCodec } from '../../common/wire.js';
import { expect, sleep } from '../suite-context.js';
import type { Step } from '../step.js';

async function waitRegistry(ctx: Parameters<Step['run']>[0], state: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (ctx.host.master.registry.get(ctx.workerId)?.state === state) return true;
    await sleep(20);
  }
  return false;
}

export const drainStep: Step = {
  checks: ['drain-resume'],
  needsWorker: true,
  async run(ctx, report) {
    const from = ctx.host.spy.mark();
    await ctx.publishControl({ action: 'CONTROL_ACTION_DRAIN', reason: 'conformance drain' });
    const draining = await ctx.waitForStatus((s) => s.state === 'WORKER_STATE_DRAINING', ctx.ms(5000), from);
    expect(draining, `no DRAINING status within ${ctx.ms(5000)} ms of DRAIN`);
    expect(String(draining.status.started_at_ms) === ctx.startedAtMs, 'started_at_ms changed when the status was re-published');
    expect(await waitRegistry(ctx, 'draining', ctx.ms(2000)), 'the master does not see the worker draining');
    const mark = ctx.host.spy.mark();
    const t = ctx.submit('echo', { text: 'while draining' });
    await sleep(ctx.ms(800));
    const tasksTopic = ctx.topics.workerTasks(ctx.workerId);
    expect(ctx.host.spy.since(mark, (m) => m.topic === tasksTopic).length === 0, 'the master sent an assignment to a draining worker');
    expect(ctx.task(t.id)?.status === 'queued', `a task submitted while the only worker drains is ${ctx.task(t.id)?.status}, not queued`);
    const before = ctx.host.spy.mark();
    await ctx.publishControl({ action: 'CONTROL_ACTION_RESUME' });
    const online = await ctx.waitForStatus((s) => s.state === 'WORKER_STATE_ONLINE', ctx.ms(5000), before);
    expect(online, `no ONLINE status within ${ctx.ms(5000)} ms of RESUME`);
    const done = await ctx.finished(t.id, ctx.ms(10_000), 'task queued during the drain');
    expect(done.status === 'succeeded', `the queued task ended ${done.status} after RESUME`);
    report.pass('drain-resume', 'DRAIN -> DRAINING (no new work), RESUME -> ONLINE, the queued task ran');
  },
};

export const reconnectStep: Step = {
  checks: ['reconnect'],
  needsWorker: true,
  async run(ctx, report) {
    const downAt = Date.now();
    await ctx.host.restart();
    const seen = await ctx.waitForStatus((s) => s.state === 'WORKER_STATE_ONLINE', ctx.ms(30_000), 0);
    expect(seen, `the worker did not re-announce ONLINE within ${ctx.ms(30_000)} ms of a broker restart (same port)${ctx.exitNote()}`);
    expect(String(seen.status.started_at_ms) === ctx.startedAtMs, `started_at_ms changed from ${ctx.startedAtMs} to ${seen.status.started_at_ms} without a process restart`);
    expect(await waitRegistry(ctx, 'online', ctx.ms(2000)), 'the new master does not see the worker online');
    const t = ctx.submit('echo', { text: 'after the broker restart' });
    const done = await ctx.finished(t.id, ctx.ms(20_000), 'echo after the broker restart');
    expect(done.status === 'succeeded', `echo after the restart ended ${done.status}: ${JSON.stringify(done.error)}`);
    report.pass('reconnect', `re-registered ${seen.message.atMs - downAt} ms after the broker went down; served again`);
  },
};

export const lastWillStep: Step = {
  checks: ['last-will'],
  needsWorker: true,
  async run(ctx, report) {
    const w = ctx.requireWorker();
    const from = ctx.host.spy.mark();
    const killedAt = Date.now();
    const exit = await w.kill9();
    expect(exit, 'the worker process group did not die on SIGKILL');
    const off = await ctx.waitForStatus((s) => s.state === 'WORKER_STATE_OFFLINE', ctx.ms(20_000), from);
    expect(off, `no OFFLINE status within ${ctx.ms(20_000)} ms of kill -9: set a Last Will (retained, QoS 1, state WORKER_STATE_OFFLINE)`);
    const retained = await ctx.host.spy.retained(ctx.statusTopic());
    const r = retained ? workerStatusCodec.decode(retained.payload) : undefined;
    expect(r?.state === 'WORKER_STATE_OFFLINE' && retained?.retain, `a new subscriber gets ${r?.state ?? 'no status'}, not the retained OFFLINE Last Will`);
    expect(await waitRegistry(ctx, 'offline', ctx.ms(2000)), 'the master does not see the worker offline');
    report.pass('last-will', `retained OFFLINE (reason "${off.status.reason}") ${off.message.atMs - killedAt} ms after kill -9`);
  },
};

export const shutdownStep: Step = {
  checks: ['graceful-shutdown', 'shutdown-hand-back'],
  needsWorker: false,
  async run(ctx, report) {
    const from0 = ctx.host.spy.mark();
    const w = ctx.startWorker();
    const online = await ctx.waitForOnline(from0, ctx.ms(30_000));
    expect(online, `a second worker process did not announce ONLINE${ctx.exitNote()}`);
    const t = ctx.submit('sleep', { ms: 60_000 });
    const started = await ctx.host.recorder.waitForStarted(t.id, ctx.ms(8000));
    expect(started, `the sleep task never started on the second worker${ctx.exitNote()}`);
    const from = ctx.host.spy.mark();
    const sentAt = Date.now();
    w.signalGroup('SIGTERM');
    const off = await ctx.waitForStatus((s) => s.state === 'WORKER_STATE_OFFLINE', ctx.ms(30_000), from);
    expect(off, `no OFFLINE status within ${ctx.ms(30_000)} ms of SIGTERM`);
    const exit = await w.waitForGroupExit(ctx.ms(10_000));
    await sleep(ctx.ms(500));
    const offlines = ctx.host.spy
      .since(from, (m) => m.topic === ctx.statusTopic() && m.payload.length > 0)
      .map((m) => workerStatusCodec.decode(m.payload))
      .filter((s) => s.state === 'WORKER_STATE_OFFLINE');
    const problems: string[] = [];
    if (off.status.reason !== 'shutdown') problems.push(`the first OFFLINE status has reason "${off.status.reason}", expected "shutdown" (published by the worker itself)`);
    if (offlines.length > 1) problems.push(`${offlines.length} OFFLINE statuses: the Last Will fired too (send MQTT DISCONNECT after publishing OFFLINE)`);
    if (!exit) problems.push(`the process did not exit within ${ctx.ms(10_000)} ms of SIGTERM`);
    if (problems.length) report.fail('graceful-shutdown', problems.join('; '));
    else report.pass('graceful-shutdown', `OFFLINE reason "shutdown" ${off.message.atMs - sentAt} ms after SIGTERM; every process of the command exited`);

    const fin = ctx.host.recorder.of(t.id, started.attempt).find((e) => e.kind === 'final');
    const r = fin?.final;
    expect(r, 'the running attempt was not handed back: no final result before the worker went away');
    expect(
      r.outcome === 'TASK_OUTCOME_FAILED' && r.error?.code === 'WORKER_SHUTDOWN' && r.error.retryable,
      `hand-back final ${r.outcome} ${JSON.stringify(r.error)}, expected FAILED WORKER_SHUTDOWN retryable`,
    );
    expect(fin.atMs <= off.message.atMs, 'the WORKER_SHUTDOWN final reached the master after the OFFLINE status (deliver finals first, §12 step 4)');
    expect(fin.outcome.disposition === 'DISPOSITION_ACCEPTED', `the master answered ${fin.outcome.disposition} ${fin.outcome.reason}`);
    report.pass('shutdown-hand-back', 'the running attempt came back FAILED WORKER_SHUTDOWN (retryable) before OFFLINE and was re-queued');
  },
};
