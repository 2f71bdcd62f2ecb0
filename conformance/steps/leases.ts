/**
 * Leases and concurrency: heartbeats at the assignment's interval while a long
 * task runs (§7.3), CANCEL on the control topic (§10), and capacity (§7.1).
 */
import { assignmentsCodec } from '../../common/wire.js';
import { expect, sleep } from '../suite-context.js';
import type { Step } from '../step.js';

/** Largest number of [start, end] intervals open at one time (an end before a start at the same instant). */
export function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const p of points) {
    open += p.d;
    max = Math.max(max, open);
  }
  return max;
}

export const heartbeatStep: Step = {
  checks: ['heartbeats'],
  needsWorker: true,
  async run(ctx, report) {
    const ms = 2500;
    const from = ctx.host.spy.mark();
    // A lease of 900 ms makes the master ask for a heartbeat every 300 ms.
    const t = ctx.submit('sleep', { ms }, { heartbeatTimeoutMs: 900 });
    const tasksTopic = ctx.topics.workerTasks(ctx.workerId);
    const msg = await ctx.host.spy.waitFor((m) => m.topic === tasksTopic && m.payload.includes(t.id), ctx.ms(5000), from);
    expect(msg, 'the master did not dispatch the task');
    const interval = assignmentsCodec.decode(msg.payload).tasks.find((a) => a.task_id === t.id)?.heartbeat_interval_ms ?? 0;
    const done = await ctx.finished(t.id, ctx.ms(15_000) + ms, 'sleep with heartbeats');
    const lost = done.history.find((h) => h.reason?.includes('HEARTBEAT_TIMEOUT') || h.reason?.includes('no heartbeat'));
    expect(!lost, `the master lost the lease: ${lost?.reason}`);
    expect(done.status === 'succeeded' && done.attempt === 1, `task ended ${done.status} at attempt ${done.attempt}: ${JSON.stringify(done.error)}`);
    const events = ctx.host.recorder.of(t.id, 1).sort((a, b) => a.atMs - b.atMs);
    const beats = events.filter((e) => e.kind === 'heartbeat');
    let maxGap = 0;
    for (let i = 1; i < events.length; i++) maxGap = Math.max(maxGap, events[i]!.atMs - events[i - 1]!.atMs);
    expect(beats.length >= 3, `${beats.length} heartbeats during a ${ms} ms task with heartbeat_interval_ms ${interval}`);
    // Twice the interval plus scheduling slack (scaled): a worker on a fixed or default interval fails by far.
    const allowed = 2 * interval + ctx.ms(100);
    expect(maxGap <= allowed, `${maxGap} ms between two events of the attempt; heartbeat_interval_ms is ${interval} (allowed up to ${allowed} ms)`);
    report.pass('heartbeats', `${beats.length} heartbeats, largest gap ${maxGap} ms, interval ${interval} ms, lease kept`);
  },
};

export const cancelStep: Step = {
  checks: ['cancel'],
  needsWorker: true,
  async run(ctx, report) {
    const reason = 'conformance: cancel check';
    const t = ctx.submit('sleep', { ms: 60_000 });
    const started = await ctx.host.recorder.waitForStarted(t.id, ctx.ms(8000));
    expect(started, `the sleep task never started${ctx.exitNote()}`);
    const attempt = started.attempt;
    ctx.host.master.tasks.cancel(t.id, reason);
    const fin = await ctx.host.recorder.waitForFinal(t.id, ctx.ms(5000), attempt);
    expect(fin?.final, `no final result within ${ctx.ms(5000)} ms of CANCEL${ctx.exitNote()}`);
    const r = fin.final;
    expect(
      r.outcome === 'TASK_OUTCOME_CANCELLED' && r.error?.code === 'CANCELLED',
      `final ${r.outcome} ${JSON.stringify(r.error)}, expected CANCELLED with error code CANCELLED`,
    );
    expect(r.error.message.includes(reason), `error.message ${JSON.stringify(r.error.message)} should carry the command's reason ${JSON.stringify(reason)}`);
    const done = await ctx.finished(t.id, ctx.ms(2000), 'cancelled task');
    expect(done.status === 'cancelled', `task ended ${done.status}`);
    await sleep(ctx.ms(400));
    const after = ctx.host.recorder.of(t.id, attempt).filter((e) => e.atMs > fin.atMs && e.kind !== 'final');
    expect(after.length === 0, `${after.length} events (${after[0]?.kind}) arrived after the CANCELLED final: the attempt kept running`);
    // Capacity freed: the worker takes `capacity` new tasks at once.
    const more = Array.from({ length: ctx.capacity }, () => ctx.submit('echo', { text: 'after cancel' }));
    for (const m of more) {
      const d = await ctx.finished(m.id, ctx.ms(10_000), 'task after cancel');
      expect(d.status === 'succeeded', `a task after the cancel ended ${d.status}`);
    }
    report.pass('cancel', `CANCELLED final with the reason ${fin.atMs - started.atMs} ms after start; ${ctx.capacity} tasks ran afterwards`);
  },
};

export const capacityStep: Step = {
  checks: ['capacity'],
  needsWorker: true,
  async run(ctx, report) {
    const ms = 700;
    const n = ctx.capacity * 2;
    const tasks = Array.from({ length: n }, () => ctx.submit('sleep', { ms }));
    const intervals: { start: number; end: number }[] = [];
    for (const t of tasks) {
      const d = await ctx.finished(t.id, ctx.ms(20_000) + n * ms, 'capacity');
      expect(d.status === 'succeeded' && d.attempt === 1, `a sleep task ended ${d.status} at attempt ${d.attempt}: ${JSON.stringify(d.error)}`);
      const ev = ctx.host.recorder.of(t.id, 1);
      const s = ev.find((e) => e.kind === 'started');
      const f = ev.find((e) => e.kind === 'final');
      expect(s && f, 'an attempt without a STARTED event or a final');
      intervals.push({ start: s.atMs, end: f.atMs });
    }
    const most = maxOverlap(intervals);
    expect(most <= ctx.capacity, `${most} attempts ran at once on a worker of capacity ${ctx.capacity}`);
    expect(most === ctx.capacity, `at most ${most} of ${ctx.capacity} attempts ran at once: the worker must run up to its capacity concurrently`);
    report.pass('capacity', `${n} tasks, ${most} at once (capacity ${ctx.capacity})`);
  },
};
