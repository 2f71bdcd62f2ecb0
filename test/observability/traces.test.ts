/**
 * OpenTelemetry traces end to end: a real master and a real llm worker (on a
 * local fake OpenAI-compatible provider) export OTLP/HTTP to a local receiver
 * (a small HTTP server decoding what the exporters post). One REST submit
 * carrying a client's W3C traceparent is one trace: the client's span is the
 * parent of the submit span, then task -> queue / attempt / result, and the
 * worker's run span (continued from the assignment's traceparent) with its
 * provider call below the attempt; a Socket.IO submit likewise, parented on
 * its handshake's traceparent. Off by default: without the endpoint the
 * master and worker make no tracer and assignments carry no traceparent.
 */
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { silentLogger } from '../../common/logger.js';
import { startReceiver } from './otlp-receiver.js';
import { otlpTracesUrl, parseTraceparent, formatTraceparent } from '../../common/otel-tracing.js';

describe('traces', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let provider: FakeOpenAiProvider;
  let c: TestCluster;
  let taskId = '';
  let plainAssignmentTraceparent: string | undefined = 'unset';
  const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const clientSpan = '00f067aa0ba902b7';
  const socketTrace = '0af7651916cd43dd8448eb211c80319c';
  const socketSpan = 'b7ad6b7169203331';

  beforeAll(async () => {
    receiver = await startReceiver();
    provider = await startFakeOpenAiProvider({});
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    c = await startCluster({ workers: 0, masterDeps: { tracingEnv: env } });
    const llm = await createLlmHandler({ OPENAI_BASE_URL: provider.url, TASKWIRE_OLLAMA_URL: 'off' }, silentLogger());
    if (!llm) throw new Error('no model at the fake provider');
    await c.addWorker({ kinds: ['llm', 'echo'] }, { handlers: [llm], tracingEnv: env });
    await c.waitForWorkers(1);
    const res = await fetch(`${c.httpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${clientTrace}-${clientSpan}-01` },
      body: JSON.stringify({ kind: 'llm', input: { messages: [{ role: 'user', content: 'trace me please' }] } }),
    });
    expect(res.status).toBe(202);
    taskId = ((await res.json()) as { id: string }).id;
    await waitFor(async () => ((await (await fetch(`${c.httpUrl}/api/v1/tasks/${taskId}`)).json()) as { status: string }).status === 'succeeded', 'the llm task', 15_000, 20);
    // A chat submit over Socket.IO, its handshake carrying a traceparent.
    const socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false, extraHeaders: { traceparent: `00-${socketTrace}-${socketSpan}-01` } });
    try {
      const ack = (await socket.timeout(5000).emitWithAck('task:submit', { kind: 'echo', input: { text: 'over socket.io' } })) as { ok: boolean };
      expect(ack.ok).toBe(true);
      await waitFor(() => c.master.tasks.counters.succeeded >= 2, 'the Socket.IO task', 15_000, 20);
    } finally {
      socket.close();
    }
    await c.close(); // flushes both exporters
    await waitFor(() => receiver.spans.some((s) => s.name === 'taskwire.worker.run') && receiver.spans.some((s) => s.name === 'taskwire.task'), 'spans at the receiver', 10_000, 20);

    // The same cluster without the endpoint: no traceparent on the assignment.
    const off = await startCluster({ workers: 0, masterDeps: { tracingEnv: {} } });
    try {
      const w = await off.addWorker({ kinds: ['echo'] }, { tracingEnv: {} });
      await off.waitForWorkers(1);
      const seen: (string | undefined)[] = [];
      const start = w.runner.start.bind(w.runner);
      w.runner.start = (a) => {
        seen.push(a.traceparent);
        start(a);
      };
      expect((await runTask(off.httpUrl, { kind: 'echo', input: { text: 'x' } })).status).toBe('succeeded');
      plainAssignmentTraceparent = seen[0];
      expect(off.master.tracing).toBeUndefined();
      expect(w.observability.telemetry).toBeUndefined();
    } finally {
      await off.close();
    }
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await provider?.close();
    await receiver?.close();
  });

  it('one trace per task: client span -> submit -> task -> queue, attempt -> worker run -> provider call, result', () => {
    const inTrace = receiver.spans.filter((s) => s.traceId === clientTrace);
    const byName = (n: string) => inTrace.filter((s) => s.name === n);
    const one = (n: string) => {
      const l = byName(n);
      expect(l, `${n}: ${JSON.stringify(inTrace.map((s) => s.name))}`).toHaveLength(1);
      return l[0]!;
    };
    const submit = one('POST /api/v1/tasks');
    const task = one('taskwire.task');
    const queue = one('taskwire.queue');
    const attempt = one('taskwire.attempt');
    const result = one('taskwire.result');
    const run = one('taskwire.worker.run');
    const call = one('taskwire.provider.call');
    expect(submit.parentSpanId).toBe(clientSpan);
    expect(submit.kind).toBe(2); // SERVER
    expect(submit.service).toBe('taskwire-master');
    expect(task.parentSpanId).toBe(submit.spanId);
    expect(task.attributes['taskwire.task_id']).toBe(taskId);
    expect(task.attributes['taskwire.status']).toBe('succeeded');
    for (const s of [queue, attempt, result]) expect(s.parentSpanId, s.name).toBe(task.spanId);
    expect(attempt.attributes['taskwire.worker_id']).toBe(c.workers[0]!.id);
    expect(run.parentSpanId).toBe(attempt.spanId);
    expect(run.service).toBe('taskwire-worker');
    expect(run.kind).toBe(5); // CONSUMER
    expect(call.parentSpanId).toBe(run.spanId);
    expect(call.kind).toBe(3); // CLIENT
    expect(call.attributes['gen_ai.request.model']).toBe('fake-model');
    expect(Number(call.attributes['gen_ai.usage.output_tokens'])).toBeGreaterThan(0);
    // Nothing of this task in another trace.
    expect(receiver.spans.filter((s) => s.attributes['taskwire.task_id'] === taskId && s.traceId !== clientTrace)).toEqual([]);
    expect([...receiver.contentTypes].every((t) => t.startsWith('application/json'))).toBe(true);
  });

  it('a Socket.IO submit is a trace of its own, child of the handshake\'s traceparent', () => {
    const inTrace = receiver.spans.filter((s) => s.traceId === socketTrace);
    const submit = inTrace.find((s) => s.name === 'socket.io task:submit');
    expect(submit, JSON.stringify(inTrace.map((s) => s.name))).toBeDefined();
    expect(submit!.parentSpanId).toBe(socketSpan);
    const task = inTrace.find((s) => s.name === 'taskwire.task')!;
    expect(task.parentSpanId).toBe(submit!.spanId);
    expect(task.attributes['taskwire.kind']).toBe('echo');
    const attempt = inTrace.find((s) => s.name === 'taskwire.attempt')!;
    expect(inTrace.find((s) => s.name === 'taskwire.worker.run')?.parentSpanId).toBe(attempt.spanId);
  });

  it('is off without the endpoint: no tracer, no traceparent on the wire', () => {
    expect(plainAssignmentTraceparent).toBe('');
  });

  it('reads the standard variables; traceparent round trip; malformed ones are ignored', () => {
    expect(otlpTracesUrl({})).toBeUndefined();
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/x' })).toBe('http://c:4318/x');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(() => otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    const tp = `00-${clientTrace}-${clientSpan}-01`;
    expect(formatTraceparent(parseTraceparent(tp)!)).toBe(tp);
    for (const bad of ['', 'x', `00-${'0'.repeat(32)}-${clientSpan}-01`, `ff-${clientTrace}-${clientSpan}-01`, `00-${clientTrace}-${clientSpan}`, 42]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});
