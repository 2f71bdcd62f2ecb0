/**
 * The diagnostic kinds every worker runs (PROTOCOL.md §7.4), streamed results
 * with `seq` (§8), their errors (§11), and a batch of several assignments in
 * one message (§7.1).
 */
import { availableParallelism, totalmem } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import type { JsonValue } from '../../common/json-value.js';
import type { Recorded } from '../result-recorder.js';
import { type SuiteContext, expect, sleep } from '../suite-context.js';
import type { Step } from '../step.js';

const ECHO_SPLIT = /\S+\s*|\s+/g;

/**
 * Why an attempt's reported CPU time and memory (Usage.cpu_us, mem_mib_ms,
 * PROTOCOL.md §9) cannot be true, or []. Both are optional: absent or 0 is
 * "not measured" (billed 0). Reported ones cannot exceed what the machine
 * could give in the attempt's run time (every core, all of its memory).
 */
export function resourceProblems(r: { started_at_ms: number | string; finished_at_ms: number | string; usage?: { cpu_us: number | string; mem_mib_ms: number | string } | null }): string[] {
  const cpu = Number(r.usage?.cpu_us ?? 0);
  const mem = Number(r.usage?.mem_mib_ms ?? 0);
  const wallMs = Math.max(0, Number(r.finished_at_ms) - Number(r.started_at_ms)) + 100; // clock granularity, sampling at the edges
  const problems: string[] = [];
  if (!Number.isSafeInteger(cpu) || cpu < 0) problems.push(`cpu_us ${r.usage?.cpu_us} is not a count of microseconds`);
  else if (cpu > wallMs * 1000 * availableParallelism()) problems.push(`cpu_us ${cpu}: more CPU time than ${availableParallelism()} cores give in the attempt's ${wallMs - 100} ms`);
  if (!Number.isSafeInteger(mem) || mem < 0) problems.push(`mem_mib_ms ${r.usage?.mem_mib_ms} is not a count of MiB x ms`);
  else if (mem > (totalmem() / 2 ** 20) * wallMs) problems.push(`mem_mib_ms ${mem}: more than all of the machine's memory for the attempt's ${wallMs - 100} ms`);
  return problems;
}

/**
 * Why the events of one attempt break the seq rules, or [] (events in arrival
 * order, finals excluded). STARTED is seq 1; a worker may leave STARTED out when
 * the final goes in the same ResultBatch (the TypeScript worker does), but its
 * number stays used, so the first event is then seq 2.
 */
export function seqProblems(events: Recorded[]): string[] {
  const problems: string[] = [];
  const stream = events.filter((r) => r.via === 'stream' && r.kind !== 'final');
  if (stream.length === 0) return ['no STARTED, chunk or HEARTBEAT event arrived on StreamResults'];
  const first = stream[0]!;
  if (first.kind === 'started' && first.seq !== 1) problems.push(`STARTED has seq ${first.seq}, not 1`);
  if (first.kind !== 'started' && first.seq !== 2) problems.push(`the first event is ${first.kind} with seq ${first.seq}: expected STARTED with seq 1 (or seq 2 after a STARTED left out)`);
  for (let i = 1; i < stream.length; i++) {
    if (stream[i]!.seq <= stream[i - 1]!.seq) {
      problems.push(`seq goes from ${stream[i - 1]!.seq} to ${stream[i]!.seq} (event ${i + 1}, ${stream[i]!.kind})`);
      break;
    }
  }
  return problems;
}

function finalOf(ctx: SuiteContext, taskId: string, attempt?: number): Recorded | undefined {
  return ctx.host.recorder.of(taskId, attempt).find((r) => r.kind === 'final');
}

export const echoStep: Step = {
  checks: ['echo-streaming'],
  needsWorker: true,
  async run(ctx, report) {
    const text = 'Hello  conformance\nsuite, ünïcode 🦊\tand a trailing space ';
    // stream: someone watches, so the worker must send chunks (PROTOCOL.md, TaskAssignment.stream).
    const t = ctx.submit('echo', { text }, { stream: true });
    const done = await ctx.finished(t.id, ctx.ms(10_000), 'echo');
    expect(done.status === 'succeeded', `echo ended ${done.status}: ${JSON.stringify(done.error)}`);
    const events = ctx.host.recorder.of(t.id, done.attempt);
    const chunks = events.filter((r) => r.kind === 'chunk');
    const expected = text.match(ECHO_SPLIT) ?? [];
    const wrong = seqProblems(events);
    const joined = chunks.map((c) => c.chunkText).join('');
    if (joined !== text) wrong.push(`chunks concatenate to ${JSON.stringify(joined)}, not the input ${JSON.stringify(text)}`);
    else if (chunks.length !== expected.length) wrong.push(`${chunks.length} chunks; expected one per word with its trailing whitespace (${expected.length})`);
    if (!isDeepStrictEqual(done.result, { text })) wrong.push(`output ${JSON.stringify(done.result)}, expected {"text": input}`);
    const rejected = events.filter((r) => r.outcome.disposition === 'DISPOSITION_REJECTED');
    if (rejected.length > 0) wrong.push(`${rejected.length} events rejected by the master: ${rejected[0]!.outcome.reason}`);
    expect(wrong.length === 0, wrong.join('; '));
    report.pass('echo-streaming', `${chunks.length} chunks, seq ${events.filter((e) => e.via === 'stream' && e.kind !== 'final').map((e) => e.seq).join(',')}, final SUCCEEDED {text}`);
  },
};

export const sleepStep: Step = {
  checks: ['sleep', 'resource-usage'],
  needsWorker: true,
  async run(ctx, report) {
    const ms = 800;
    const t = ctx.submit('sleep', { ms });
    const done = await ctx.finished(t.id, ctx.ms(10_000) + ms, 'sleep');
    expect(done.status === 'succeeded', `sleep ended ${done.status}: ${JSON.stringify(done.error)}`);
    const out = done.result as { slept_ms?: unknown } | null;
    const slept = out?.slept_ms;
    expect(typeof slept === 'number', `output ${JSON.stringify(done.result)}, expected {"slept_ms": number}`);
    expect(slept >= ms - 10, `slept_ms ${slept} is less than the ${ms} ms asked for`);
    const events = ctx.host.recorder.of(t.id, done.attempt);
    const started = events.find((r) => r.kind === 'started');
    const fin = events.find((r) => r.kind === 'final');
    expect(started && fin, 'no STARTED event or no final for the attempt');
    const took = fin.atMs - started.atMs;
    expect(took >= ms - 100, `the final arrived ${took} ms after STARTED; the task asked for ${ms} ms`);
    report.pass('sleep', `slept_ms=${slept}, STARTED to final ${took} ms`);
    const r = fin.final;
    const wrong = r ? resourceProblems(r) : ['the final has no TaskResult'];
    if (wrong.length > 0) report.fail('resource-usage', wrong.join('; '));
    else if (!Number(r?.usage?.cpu_us) && !Number(r?.usage?.mem_mib_ms)) report.pass('resource-usage', 'cpu_us and mem_mib_ms not reported (0: billed 0)');
    else report.pass('resource-usage', `cpu_us=${r!.usage!.cpu_us} mem_mib_ms=${r!.usage!.mem_mib_ms} over ${Number(r!.finished_at_ms) - Number(r!.started_at_ms)} ms`);
  },
};

interface ErrorCase {
  label: string;
  kind: string;
  input: unknown;
  code: string;
  retryable: boolean;
}

const ERROR_CASES: ErrorCase[] = [
  { label: 'echo-text-not-string', kind: 'echo', input: { text: 42 }, code: 'BAD_INPUT', retryable: false },
  { label: 'echo-unknown-key', kind: 'echo', input: { text: 'x', colour: 'red' }, code: 'BAD_INPUT', retryable: false },
  { label: 'sleep-negative', kind: 'sleep', input: { ms: -5 }, code: 'BAD_INPUT', retryable: false },
  { label: 'sleep-fraction', kind: 'sleep', input: { ms: 1.5 }, code: 'BAD_INPUT', retryable: false },
  { label: 'unknown-kind', kind: 'conformance-no-such-kind', input: {}, code: 'UNSUPPORTED', retryable: true },
];

export const diagnosticErrorsStep: Step = {
  checks: ['bad-input', 'unsupported-kind'],
  needsWorker: true,
  async run(ctx, report) {
    const sent = ERROR_CASES.map((c) => ({ c, a: ctx.forged(c.kind, c.input as never, c.label) }));
    for (const { a } of sent) await ctx.publishTasks([a]);
    const wrong: Record<'bad-input' | 'unsupported-kind', string[]> = { 'bad-input': [], 'unsupported-kind': [] };
    for (const { c, a } of sent) {
      const check = c.code === 'UNSUPPORTED' ? 'unsupported-kind' : 'bad-input';
      const fin = await ctx.host.recorder.waitForFinal(String(a['task_id']), ctx.ms(5000));
      const r = fin?.final;
      if (!r) wrong[check].push(`${c.label}: no final result${ctx.exitNote()}`);
      else if (r.outcome !== 'TASK_OUTCOME_FAILED' || r.error?.code !== c.code || Boolean(r.error?.retryable) !== c.retryable) {
        wrong[check].push(`${c.label}: got ${r.outcome} ${JSON.stringify(r.error)}, expected FAILED ${c.code} retryable=${c.retryable}`);
      } else if (fin.token !== a['result_token']) wrong[check].push(`${c.label}: the result token was not echoed unchanged`);
    }
    for (const name of ['bad-input', 'unsupported-kind'] as const) {
      if (wrong[name].length) report.fail(name, wrong[name].join('; '));
      else report.pass(name, name === 'bad-input' ? 'wrong types, unknown keys, out-of-range values: FAILED BAD_INPUT, not retryable' : 'FAILED UNSUPPORTED, retryable');
    }
  },
};

export const batchStep: Step = {
  checks: ['batch'],
  needsWorker: true,
  async run(ctx, report) {
    const n = 3;
    const tasks = Array.from({ length: n }, (_, i) => ctx.forged('echo', { text: `batch item ${i}` }, `batch${i}`));
    await ctx.publishTasks(tasks);
    const wrong: string[] = [];
    for (const [i, a] of tasks.entries()) {
      const fin = await ctx.host.recorder.waitForFinal(String(a['task_id']), ctx.ms(8000));
      const r = fin?.final;
      if (!r) wrong.push(`assignment ${i + 1} of ${n}: no final result${ctx.exitNote()}`);
      else if (r.outcome !== 'TASK_OUTCOME_SUCCEEDED') wrong.push(`assignment ${i + 1}: ${r.outcome} ${JSON.stringify(r.error)}`);
    }
    expect(wrong.length === 0, wrong.join('; '));
    report.pass('batch', `one Assignments message with ${n} assignments: all ${n} ran`);
  },
};

export const deadlineStep: Step = {
  checks: ['deadline'],
  needsWorker: true,
  async run(ctx, report) {
    const deadline = Date.now() + 600;
    const a: Record<string, JsonValue> = { ...ctx.forged('sleep', { ms: 30_000 }, 'deadline'), deadline_ms: String(deadline) };
    await ctx.publishTasks([a]);
    const fin = await ctx.host.recorder.waitForFinal(String(a['task_id']), ctx.ms(6000));
    expect(fin?.final, `no final within ${ctx.ms(6000)} ms of a deadline 600 ms away${ctx.exitNote()}`);
    const r = fin.final;
    expect(
      r.outcome === 'TASK_OUTCOME_FAILED' && r.error?.code === 'DEADLINE_EXCEEDED' && r.error.retryable,
      `final ${r.outcome} ${JSON.stringify(r.error)}, expected FAILED DEADLINE_EXCEEDED retryable`,
    );
    report.pass('deadline', `aborted at deadline_ms: FAILED DEADLINE_EXCEEDED (retryable) ${fin.atMs - deadline} ms after it`);
  },
};

export const duplicateStep: Step = {
  checks: ['duplicate-ignored'],
  needsWorker: true,
  async run(ctx, report) {
    // QoS 1 may deliver a message twice: the same task_id + attempt must run once.
    const a = ctx.forged('sleep', { ms: 400 }, 'duplicate');
    await ctx.publishTasks([a]);
    await ctx.publishTasks([a]);
    const id = String(a['task_id']);
    const fin = await ctx.host.recorder.waitForFinal(id, ctx.ms(6000));
    expect(fin, `no final for the assignment${ctx.exitNote()}`);
    await sleep(ctx.ms(700));
    const finals = ctx.host.recorder.of(id).filter((r) => r.kind === 'final').length;
    const starts = ctx.host.recorder.of(id).filter((r) => r.kind === 'started').length;
    expect(finals === 1 && starts <= 1, `the assignment delivered twice ran ${Math.max(finals, starts)} times (${starts} STARTED, ${finals} finals)`);
    report.pass('duplicate-ignored', 'an assignment delivered twice ran once');
  },
};

export { finalOf };
