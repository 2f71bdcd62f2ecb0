/**
 * The Go, Python and Java workers' own metrics port and their part of a task's
 * trace, each a real process next to a real master with tracing on (a local
 * OTLP receiver): the worker serves GET /metrics on TASKWIRE_METRICS_PORT (0:
 * a free port it logs) with the TypeScript worker's names and a worker_id
 * label, and `promtool check metrics` finds nothing in it; its summary is on
 * the master's /metrics; a REST submit carrying a client traceparent ends in a
 * `taskwire.worker.run` span from that worker, child of the master's attempt
 * span, in the client's trace, and the attempt's log line carries the trace id.
 * The Python and Java workers also run llm tasks on a local fake provider:
 * provider metrics by provider/model on the port, and the provider request
 * carries a traceparent of the same trace whose parent is its
 * `taskwire.provider.call` span, child of the run span, with the TypeScript
 * worker's attributes, first-token event and error status.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup, parseJsonLine, type ManagedProcess } from '../helpers/processes.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import {
  GO_OFFLINE_ENV,
  GO_WORKER_DIR,
  JAVA_JAR,
  PYTHON_WORKER,
  goMissing,
  javaMissing,
  prepareImplementation,
  pythonMissing,
} from '../conformance/worker-implementations.js';
import { startReceiver, type OtlpSpan } from './otlp-receiver.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim() || undefined;

function series(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const i = line.lastIndexOf(' ');
    if (Object.entries(labels).every(([k, v]) => line.slice(0, i).includes(`${k}="${v}"`))) sum += Number(line.slice(i + 1));
  }
  return sum;
}

interface Language {
  name: 'go' | 'python' | 'java';
  missing: () => string | undefined;
  command: () => [string, string[]];
  llm: boolean;
}

const LANGUAGES: Language[] = [
  {
    name: 'go',
    missing: goMissing,
    command: () => {
      prepareImplementation({ language: 'go', command: '', missing: undefined });
      return [join(GO_WORKER_DIR, '.build', 'taskwire-worker'), []];
    },
    llm: false,
  },
  { name: 'python', missing: pythonMissing, command: () => [PYTHON_WORKER, []], llm: true },
  { name: 'java', missing: javaMissing, command: () => ['java', ['-jar', JAVA_JAR]], llm: true },
];

for (const lang of LANGUAGES) {
  const missing = lang.missing();
  describe.skipIf(missing !== undefined)(`the ${lang.name} worker's metrics port and trace${missing ? ` (skipped: ${missing})` : ''}`, () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let fake: FakeOpenAiProvider | undefined;
    let c: TestCluster;
    let p: ManagedProcess;
    let metricsUrl = '';
    const id = uniqueId(lang.name);
    const group = new ProcessGroup();
    const trace = (n: number) => `${n.toString(16).padStart(2, '0')}${'5ca1ab1e'.repeat(3)}77b34da6`.slice(0, 32);
    const clientSpan = '00f067aa0ba902b7';
    const taskIds: Record<string, string> = {};

    const submit = async (kind: string, input: unknown, traceId: string): Promise<string> => {
      const res = await fetch(`${c.httpUrl}/api/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpan}-01` },
        body: JSON.stringify({ kind, input, max_attempts: 1 }),
      });
      expect(res.status).toBe(202);
      const taskId = ((await res.json()) as { id: string }).id;
      await waitFor(
        () => {
          const t = c.master.tasks.get(taskId);
          return t && ['succeeded', 'failed'].includes(t.status) ? t : undefined;
        },
        `${kind} task on the ${lang.name} worker`,
        20_000,
        20,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n--- worker output ---\n${p.output()}`);
      });
      return taskId;
    };

    beforeAll(async () => {
      receiver = await startReceiver();
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' };
      if (lang.llm) {
        fake = await startFakeOpenAiProvider({
          fail: (_r, messages) => (messages.some((m) => m.content === 'please be busy') ? { status: 503, error: { message: 'overloaded' } } : undefined),
        });
      }
      c = await startCluster({ workers: 0, masterDeps: { tracingEnv: env } });
      const [cmd, args] = lang.command();
      p = group.spawn(id, cmd, args, {
        env: {
          ...(lang.name === 'go' ? { GOPROXY: GO_OFFLINE_ENV.GOPROXY, GOFLAGS: GO_OFFLINE_ENV.GOFLAGS } : {}),
          TASKWIRE_MQTT_URL: c.mqttUrl,
          TASKWIRE_CLUSTER_TOKEN: c.master.clusterToken,
          TASKWIRE_WORKER_ID: id,
          TASKWIRE_WORKER_CAPACITY: '3',
          TASKWIRE_SHUTDOWN_GRACE_MS: '1000',
          TASKWIRE_GRPC_URL: `127.0.0.1:${c.grpcPort}`,
          TASKWIRE_METRICS_PORT: '0',
          TASKWIRE_METRICS_HOST: '127.0.0.1',
          TASKWIRE_METRICS_SUMMARY: 'on',
          TASKWIRE_STATUS_INTERVAL_MS: '200',
          ...(fake ? { OPENAI_BASE_URL: fake.url, TASKWIRE_WORKER_KINDS: 'llm,echo' } : {}),
          ...env,
        },
      });
      const line = await p.waitForLine(/metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/, 90_000, 'the metrics port').catch((err: Error) => {
        throw new Error(`${err.message}\n--- worker output ---\n${p.output()}`);
      });
      metricsUrl = /(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(line.text)![1]!;
      await waitFor(() => {
        if (!p.running) throw new Error(`the ${lang.name} worker exited: ${p.output()}`);
        return c.master.registry.get(id)?.state === 'online';
      }, `the ${lang.name} worker online`, 60_000, 50);
      taskIds.echo = await submit('echo', { text: 'trace me' }, trace(1));
      if (lang.llm) {
        taskIds.llm = await submit('llm', { messages: [{ role: 'user', content: 'one two three' }] }, trace(2));
        taskIds.busy = await submit('llm', { messages: [{ role: 'user', content: 'please be busy' }] }, trace(3));
      }
      await waitFor(
        () =>
          Object.keys(taskIds).every((_k, i) =>
            ['taskwire.worker.run', 'taskwire.attempt'].every((name) => receiver.spans.some((s) => s.name === name && s.traceId === trace(i + 1))),
          ),
        'the attempt and worker run spans at the receiver',
        20_000,
        50,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(receiver.spans.map((s) => [s.name, s.service, s.traceId]))}\n${p.output()}`);
      });
    }, 180_000);

    afterAll(async () => {
      await group.stopAll();
      await c?.close();
      await fake?.close();
      await receiver?.close();
    });

    it('serves /metrics with the TypeScript worker\'s names and its worker_id; promtool finds nothing', async () => {
      const text = await (await fetch(metricsUrl)).text();
      const w = { worker_id: id };
      expect(series(text, 'taskwire_worker_tasks_total', { ...w, kind: 'echo', outcome: 'succeeded' })).toBe(1);
      expect(series(text, 'taskwire_worker_handler_seconds_bucket', { ...w, kind: 'echo', le: '+Inf' })).toBe(1);
      expect(series(text, 'taskwire_worker_capacity', w)).toBe(3);
      expect(text).toContain(`taskwire_worker_tasks_running{worker_id="${id}"}`);
      expect((await fetch(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
      if (lang.llm) {
        const pm = { ...w, provider: 'openai', model: 'fake-model' };
        expect(series(text, 'taskwire_worker_provider_requests_total', { ...pm, outcome: 'ok' })).toBe(1);
        expect(series(text, 'taskwire_worker_provider_requests_total', { ...pm, outcome: 'error' })).toBe(1);
        expect(series(text, 'taskwire_worker_provider_errors_total', { ...w, provider: 'openai', code: 'PROVIDER_UNAVAILABLE' })).toBe(1);
        expect(series(text, 'taskwire_worker_provider_request_seconds_count', pm)).toBe(2);
        expect(series(text, 'taskwire_worker_provider_time_to_first_token_seconds_count', pm)).toBe(1);
        expect(series(text, 'taskwire_worker_llm_completion_tokens_total', pm)).toBeGreaterThanOrEqual(3);
        expect(series(text, 'taskwire_worker_task_failures_total', { ...w, kind: 'llm', code: 'PROVIDER_UNAVAILABLE' })).toBe(1);
      }
      if (promtool) {
        const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(r.stdout + r.stderr).toBe('');
      }
    });

    it('sends the same series in its summary to the master\'s /metrics', async () => {
      const want = lang.llm ? 3 : 1;
      const text = await waitFor(
        async () => {
          const t = await (await fetch(`${c.httpUrl}/metrics`)).text();
          return series(t, 'taskwire_worker_tasks_total', { worker_id: id }) === want ? t : undefined;
        },
        'the summary on the master',
        20_000,
        100,
      );
      expect(series(text, 'taskwire_worker_handler_seconds_count', { worker_id: id, kind: 'echo' })).toBe(1);
      if (lang.llm) expect(series(text, 'taskwire_worker_provider_requests_total', { worker_id: id, provider: 'openai' })).toBe(2);
    });

    it('continues the client\'s trace: its run span is a child of the master\'s attempt span', () => {
      Object.values(taskIds).forEach((taskId, i) => {
        const inTrace = receiver.spans.filter((s) => s.traceId === trace(i + 1));
        const one = (name: string, service: string): OtlpSpan => {
          const l = inTrace.filter((s) => s.name === name && s.service === service);
          expect(l, `${name}: ${JSON.stringify(inTrace.map((s) => [s.name, s.service]))}`).toHaveLength(1);
          return l[0]!;
        };
        const attempt = one('taskwire.attempt', 'taskwire-master');
        const run = one('taskwire.worker.run', 'taskwire-worker');
        expect(run.parentSpanId).toBe(attempt.spanId);
        expect(run.kind).toBe(5); // CONSUMER
        expect(run.attributes['taskwire.task_id']).toBe(taskId);
        expect(run.attributes['taskwire.worker_id']).toBe(id);
        expect(run.spanId).toMatch(/^[0-9a-f]{16}$/);
      });
      if (lang.llm) {
        const busy = receiver.spans.find((s) => s.name === 'taskwire.worker.run' && s.traceId === trace(3))!;
        expect(busy.status?.code).toBe(2); // ERROR
        expect(busy.attributes['taskwire.error_code']).toBe('PROVIDER_UNAVAILABLE');
      }
    });

    it('logs the attempt with its trace id', () => {
      const logged = p.matching((t) => t.includes(taskIds.echo!)).map((l) => parseJsonLine(l.text)).filter((j) => j?.['trace_id']);
      expect(logged.length, p.output()).toBeGreaterThan(0);
      expect(logged[0]!['trace_id']).toBe(trace(1));
    });

    it.skipIf(!lang.llm)('makes a taskwire.provider.call span per provider call, child of its run span', () => {
      const spans = (n: number, name: string) => receiver.spans.filter((s) => s.traceId === trace(n) && s.name === name);
      expect(spans(1, 'taskwire.provider.call'), 'no provider call for echo').toEqual([]);
      for (const n of [2, 3]) {
        const [run] = spans(n, 'taskwire.worker.run');
        const calls = spans(n, 'taskwire.provider.call');
        expect(calls, JSON.stringify(receiver.spans.filter((s) => s.traceId === trace(n)).map((s) => s.name))).toHaveLength(1);
        const call = calls[0]! as OtlpSpan & { events?: { name: string; timeUnixNano: string }[]; startTimeUnixNano: string; endTimeUnixNano: string };
        expect(call.parentSpanId).toBe(run!.spanId);
        expect(call.spanId).not.toBe(run!.spanId);
        expect(call.kind).toBe(3); // CLIENT
        expect(call.service).toBe('taskwire-worker');
        expect(call.attributes['gen_ai.system']).toBe('openai');
        expect(call.attributes['gen_ai.request.model']).toBe('fake-model');
        expect(BigInt(call.endTimeUnixNano) >= BigInt(call.startTimeUnixNano)).toBe(true);
        if (n === 2) {
          expect(call.status?.code ?? 0).toBe(0);
          expect(Number(call.attributes['gen_ai.usage.output_tokens'])).toBeGreaterThanOrEqual(3);
          expect(Number(call.attributes['gen_ai.usage.input_tokens'])).toBeGreaterThan(0);
          expect(call.events?.map((e) => e.name)).toEqual(['first_token']);
          const at = BigInt(call.events![0]!.timeUnixNano);
          expect(at >= BigInt(call.startTimeUnixNano) && at <= BigInt(call.endTimeUnixNano)).toBe(true);
        } else {
          expect(call.status).toMatchObject({ code: 2, message: 'PROVIDER_UNAVAILABLE' }); // ERROR
          expect(call.attributes['gen_ai.usage.output_tokens']).toBeUndefined();
          expect(call.events ?? []).toEqual([]);
        }
      }
    });

    it.skipIf(!lang.llm)('sends a traceparent of the same trace to the provider, child of its provider call span', () => {
      const parent = receiver.spans.find((s) => s.name === 'taskwire.provider.call' && s.traceId === trace(2));
      expect(parent, JSON.stringify(receiver.spans.map((s) => [s.name, s.traceId]))).toBeDefined();
      const chats = fake!.chatRequests();
      const tp = chats.map((r) => String(r.headers['traceparent'] ?? '')).find((h) => h.includes(trace(2)));
      expect(tp, JSON.stringify(chats.map((r) => r.headers))).toBe(`00-${trace(2)}-${parent!.spanId}-01`);
    });
  });
}
