/**
 * The Python and Java workers' metrics, summarised into the master's /metrics under
 * the same names, labels and bucket bounds as the TypeScript worker's, so one
 * query covers both: a real master, the real Python worker
 * (worker/python/run.sh, TASKWIRE_METRICS_SUMMARY=on) and a real TypeScript
 * worker, each running llm tasks against a local fake OpenAI-compatible
 * provider (one call refused with a 503); the real Java worker (its jar,
 * which .ci/run builds) runs echo and sleep tasks (its provider metrics: polyglot-observability.test.ts). The output passes
 * `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask, startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup } from '../helpers/processes.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { startPythonWorker } from '../conformance/python-worker.js';
import { JAVA_JAR, javaMissing, pythonMissing } from '../conformance/worker-implementations.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { silentLogger } from '../../common/logger.js';

const missing = pythonMissing();
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

describe.skipIf(missing !== undefined)(`worker metrics of the Python worker on the master${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let c: TestCluster;
  let fake: FakeOpenAiProvider;
  let pyId = '';
  let tsId = '';
  let text = '';
  const group = new ProcessGroup();

  beforeAll(async () => {
    fake = await startFakeOpenAiProvider({
      fail: (_r, messages) => (messages.some((m) => m.content === 'please be busy') ? { status: 503, error: { message: 'overloaded' } } : undefined),
    });
    c = await startCluster({ workers: 0 });
    pyId = (await startPythonWorker(group, c, { env: { OPENAI_BASE_URL: fake.url, TASKWIRE_METRICS_SUMMARY: 'on', TASKWIRE_STATUS_INTERVAL_MS: '200', TASKWIRE_WORKER_KINDS: 'llm,echo' }, explicitGrpc: true })).id;
    const run = async (content: string) => {
      const { task } = c.master.tasks.admit({ kind: 'llm', input: { messages: [{ role: 'user', content }] }, maxAttempts: 1 });
      return waitFor(() => {
        const t = c.master.tasks.get(task.id);
        return t && ['succeeded', 'failed'].includes(t.status) ? t : undefined;
      }, `llm task ${content}`, 15_000);
    };
    // Only the Python worker serves llm now.
    expect((await run('one two three')).status).toBe('succeeded');
    expect((await run('four five')).status).toBe('succeeded');
    expect((await run('please be busy')).status).toBe('failed');
    // Then a TypeScript worker with the same provider, also sending its summary.
    const llm = await createLlmHandler({ OPENAI_BASE_URL: fake.url, TASKWIRE_OLLAMA_URL: 'off' }, silentLogger());
    if (!llm) throw new Error('no model at the fake provider');
    const ts = await c.addWorker({ kinds: ['llm'], metricsSummary: true, statusIntervalMs: 200 }, { handlers: [llm] });
    tsId = ts.id;
    text = await waitFor(
      async () => {
        const t = await (await fetch(`${c.httpUrl}/metrics`)).text();
        return series(t, 'taskwire_worker_provider_requests_total', { worker_id: pyId, outcome: 'error' }) === 1 &&
          series(t, 'taskwire_worker_tasks_total', { worker_id: pyId, kind: 'llm' }) === 3 &&
          t.includes(`taskwire_worker_capacity{worker_id="${tsId}"}`)
          ? t
          : undefined;
      },
      'the Python worker summary on the master',
      20_000,
      100,
    );
  }, 90_000);

  afterAll(async () => {
    await group.stopAll();
    await c?.close();
    await fake?.close();
  });

  it('exposes the Python worker\'s attempts, handler time and provider calls by worker_id', () => {
    const py = { worker_id: pyId };
    expect(series(text, 'taskwire_worker_tasks_total', { ...py, kind: 'llm', outcome: 'succeeded' })).toBe(2);
    expect(series(text, 'taskwire_worker_tasks_total', { ...py, kind: 'llm', outcome: 'failed' })).toBe(1);
    expect(series(text, 'taskwire_worker_task_failures_total', { ...py, kind: 'llm', code: 'PROVIDER_UNAVAILABLE' })).toBe(1);
    expect(series(text, 'taskwire_worker_handler_seconds_count', { ...py, kind: 'llm' })).toBe(3);
    const pm = { ...py, provider: 'openai', model: 'fake-model' };
    expect(series(text, 'taskwire_worker_provider_requests_total', { ...pm, outcome: 'ok' })).toBe(2);
    expect(series(text, 'taskwire_worker_provider_errors_total', { ...py, provider: 'openai', code: 'PROVIDER_UNAVAILABLE' })).toBe(1);
    expect(series(text, 'taskwire_worker_provider_request_seconds_bucket', { ...pm, le: '+Inf' })).toBe(3);
    expect(series(text, 'taskwire_worker_provider_time_to_first_token_seconds_count', pm)).toBe(2);
    expect(series(text, 'taskwire_worker_llm_completion_tokens_total', pm)).toBeGreaterThanOrEqual(5);
    expect(series(text, 'taskwire_worker_capacity', py)).toBe(4);
  });

  it('uses the TypeScript worker\'s bucket bounds: both workers\' histograms are in one family', () => {
    const bounds = (id: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('taskwire_worker_handler_seconds_bucket{') && l.includes(`worker_id="${id}"`) && l.includes('kind="'))
        .map((l) => /le="([^"]+)"/.exec(l)![1]!);
    expect(bounds(pyId).length).toBeGreaterThan(1);
    // The TypeScript worker's summary is on the master too (its capacity gauge); one family per name for both.
    expect(text.match(/^# TYPE taskwire_worker_handler_seconds histogram$/gm)).toHaveLength(1);
    expect(text.match(/^# TYPE taskwire_worker_capacity gauge$/gm)).toHaveLength(1);
    expect(series(text, 'taskwire_worker_capacity', { worker_id: tsId })).toBeGreaterThan(0);
    expect(new Set(bounds(pyId))).toEqual(new Set(['0.0005', '0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '5', '30', '120', '600', '+Inf']));
  });

  it.skipIf(!promtool)('passes `promtool check metrics`', () => {
    const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
  });
});

const javaMissingReason = javaMissing();

describe.skipIf(javaMissingReason !== undefined)(`worker metrics of the Java worker on the master${javaMissingReason ? ` (skipped: ${javaMissingReason})` : ''}`, () => {
  let c: TestCluster;
  const id = uniqueId('java');
  const group = new ProcessGroup();
  let p: ReturnType<ProcessGroup['spawn']>;

  beforeAll(async () => {
    c = await startCluster({ workers: 0 });
    p = group.spawn(id, 'java', ['-jar', JAVA_JAR], {
      env: {
        TASKWIRE_MQTT_URL: c.mqttUrl,
        TASKWIRE_CLUSTER_TOKEN: c.master.clusterToken,
        TASKWIRE_WORKER_ID: id,
        TASKWIRE_WORKER_CAPACITY: '3',
        TASKWIRE_SHUTDOWN_GRACE_MS: '1000',
        TASKWIRE_GRPC_URL: `127.0.0.1:${c.grpcPort}`,
        TASKWIRE_METRICS_SUMMARY: 'on',
        TASKWIRE_STATUS_INTERVAL_MS: '200',
      },
    });
    await waitFor(() => {
      if (!p.running) throw new Error(`the Java worker exited: ${p.output()}`);
      return c.master.registry.get(id)?.state === 'online';
    }, 'the Java worker online', 60_000, 50);
  }, 90_000);

  afterAll(async () => {
    await group.stopAll();
    await c?.close();
  });

  it('exposes its attempts, handler time, running and capacity by worker_id', async () => {
    for (const text of ['a', 'b']) {
      const t = await runTask(c.httpUrl, { kind: 'echo', input: { text } }, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\n--- java worker output ---\n${p.output()}`);
      });
      expect(t.status).toBe('succeeded');
    }
    const text = await waitFor(
      async () => {
        const t = await (await fetch(`${c.httpUrl}/metrics`)).text();
        return series(t, 'taskwire_worker_tasks_total', { worker_id: id, kind: 'echo', outcome: 'succeeded' }) === 2 ? t : undefined;
      },
      'the Java worker summary on the master',
      20_000,
      100,
    );
    expect(series(text, 'taskwire_worker_handler_seconds_count', { worker_id: id, kind: 'echo', outcome: 'succeeded' })).toBe(2);
    expect(series(text, 'taskwire_worker_handler_seconds_bucket', { worker_id: id, kind: 'echo', le: '600' })).toBe(2);
    expect(series(text, 'taskwire_worker_capacity', { worker_id: id })).toBe(3);
    expect(text).toContain(`taskwire_worker_tasks_running{worker_id="${id}"}`);
    if (promtool) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
    }
  });
});
