/**
 * Self-registration: the worker connects, subscribes, then announces a
 * retained ONLINE WorkerStatus with its capabilities, encoded as the
 * protocol's proto3 JSON. An echo task queued before the worker starts is
 * dispatched the moment the status arrives; it is only received if the
 * worker subscribed before announcing.
 */
import { PROTOCOL_VERSION } from '../../common/proto-root.js';
import { workerStatusCodec } from '../../common/wire.js';
import { expect, sleep } from '../suite-context.js';
import type { Step } from '../step.js';

/** Fields of WorkerStatus that are 64-bit and must be written as decimal strings. */
const INT64_FIELDS = ['started_at_ms', 'ts_ms'];

/** Why a raw status payload breaks the sender rules of PROTOCOL.md §3, or '' if it does not. */
export function encodingProblems(raw: unknown): string[] {
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return ['payload is not a JSON object'];
  const obj = raw as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (/[A-Z]/.test(k)) problems.push(`field "${k}" is not the original snake_case name`);
    if (INT64_FIELDS.includes(k) && typeof v !== 'string') problems.push(`${k} (int64) must be a decimal string, got ${JSON.stringify(v)}`);
    if (k === 'state' && typeof v !== 'string') problems.push(`state must be written by name, got ${JSON.stringify(v)}`);
    const isDefault =
      v === 0 || v === '' || v === false || v === '0' || (Array.isArray(v) && v.length === 0) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
    if (isDefault) problems.push(`field "${k}" has its default value and must be omitted`);
  }
  return problems;
}

export const registrationStep: Step = {
  checks: ['registration', 'status-encoding', 'retained-status', 'subscribed-before-announcing'],
  needsWorker: false,
  async run(ctx, report) {
    const pre = ctx.submit('echo', { text: 'queued before the worker started' });
    const from = ctx.host.spy.mark();
    ctx.startWorker();
    const seen = await ctx.waitForOnline(from, ctx.ms(30_000));
    expect(seen, `no ONLINE status on ${ctx.statusTopic()} within ${ctx.ms(30_000)} ms${ctx.exitNote() || `; worker output:\n${ctx.worker?.tail() ?? ''}`}`);
    const s = seen.status;
    const wrong: string[] = [];
    if (s.worker_id !== ctx.workerId) wrong.push(`worker_id "${s.worker_id}" is not TASKWIRE_WORKER_ID "${ctx.workerId}"`);
    for (const k of ['echo', 'sleep']) if (!s.kinds.includes(k)) wrong.push(`kinds ${JSON.stringify(s.kinds)} lack "${k}"`);
    if (s.capacity !== ctx.capacity) wrong.push(`capacity ${s.capacity}, expected ${ctx.capacity} (TASKWIRE_WORKER_CAPACITY)`);
    if (!s.language) wrong.push('language is empty');
    if (s.protocol !== PROTOCOL_VERSION) wrong.push(`protocol "${s.protocol}", expected "${PROTOCOL_VERSION}"`);
    if (!(Number(s.started_at_ms) > 0)) wrong.push('started_at_ms is not set');
    if (!(Number(s.ts_ms) > 0)) wrong.push('ts_ms is not set');
    let known = false;
    for (let i = 0; i < 100 && !known; i++) {
      known = ctx.host.master.registry.get(ctx.workerId)?.state === 'online';
      if (!known) await sleep(20);
    }
    if (!known) wrong.push('the master did not register the worker as online');
    expect(wrong.length === 0, wrong.join('; '));
    ctx.registered = true;
    ctx.startedAtMs = String(s.started_at_ms);
    ctx.language = s.language;
    report.pass('registration', `language=${s.language} version=${s.version || '-'} kinds=${s.kinds.join(',')} capacity=${s.capacity}`);

    const problems = encodingProblems(JSON.parse(seen.message.payload.toString('utf8')));
    if (problems.length === 0) report.pass('status-encoding', 'snake_case names, int64 as strings, enums by name, defaults omitted');
    else report.fail('status-encoding', problems.join('; '));

    const retained = await ctx.host.spy.retained(ctx.statusTopic());
    if (!retained) report.fail('retained-status', 'a new subscriber got no retained status (publish it with retain=true, QoS 1)');
    else {
      const r = workerStatusCodec.decode(retained.payload);
      if (!retained.retain) report.fail('retained-status', 'the status reached a new subscriber without the retain flag');
      else if (r.state !== 'WORKER_STATE_ONLINE') report.fail('retained-status', `retained state is ${r.state}`);
      else report.pass('retained-status', 'a new subscriber gets the ONLINE status (retain flag set)');
    }

    const done = await ctx.waitForTask(pre.id, ctx.ms(10_000));
    expect(
      done?.status === 'succeeded' && done.attempt === 1,
      `an echo task dispatched the moment the status arrived did not succeed at attempt 1 (status ${ctx.task(pre.id)?.status}, attempt ${ctx.task(pre.id)?.attempt}): subscribe to the tasks topic and wait for the SUBACK before publishing ONLINE`,
    );
    report.pass('subscribed-before-announcing', 'an assignment sent in reaction to the ONLINE status was received and run');
  },
};
