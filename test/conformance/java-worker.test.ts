/**
 * The Java worker beyond the conformance suite: its `llm` kind against a local
 * OpenAI-compatible server (test/llm/fake-openai-provider.ts: discovery,
 * streamed tokens, usage, a user's key via FetchSecrets, provider errors,
 * cancel closing the request), the CPU time and memory it reports per attempt
 * (Usage.cpu_us, mem_mib_ms), configuration errors naming the variable, and
 * its Dockerfile. Uses the jar .ci/run builds (mvn package); skipped with the
 * reason only when it is not built.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceProblems } from '../../conformance/steps/diagnostics.js';
import type { TaskRecord } from '../../master/core/task-record.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup } from '../helpers/processes.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { startJavaWorker } from './java-worker-process.js';
import { JAVA_JAR, JAVA_WORKER_DIR, javaMissing } from './worker-implementations.js';

const missing = javaMissing();
const LONG = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');

describe('the Java worker package', () => {
  it('has a Debian-based, non-root Dockerfile with a HEALTHCHECK that builds offline after fetching', () => {
    const text = readFileSync(join(JAVA_WORKER_DIR, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG DEBIAN_IMAGE=debian:\S+$/m);
    expect(text).toMatch(/mvn -B -q dependency:go-offline/);
    expect(text).toMatch(/mvn -B -q -o package/);
    expect(text).toMatch(/^USER taskwire$/m);
    expect(text).toMatch(/^HEALTHCHECK [\s\S]*taskwire\.worker\.Health/m);
  });

  it('run.sh passes shellcheck', () => {
    const r = spawnSync('shellcheck', [join(JAVA_WORKER_DIR, 'run.sh')], { encoding: 'utf8' });
    if (r.error) return; // shellcheck not installed (.ci/run installs it)
    expect(r.stdout + r.stderr).toBe('');
  });

  it.skipIf(missing !== undefined)(`a wrong setting stops the worker with exit code 2 and the variable's name${missing ? ` (skipped: ${missing})` : ''}`, () => {
    for (const [k, v] of [['TASKWIRE_WORKER_CAPACITY', '0'], ['TASKWIRE_MQTT_URL', 'http://x'], ['OPENAI_BASE_URL', 'ftp://x']] as const) {
      const r = spawnSync('java', ['-jar', JAVA_JAR], { env: { PATH: process.env['PATH'] ?? '', [k]: v }, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`taskwire worker: ${k}: `));
    }
  });
});

describe.skipIf(missing !== undefined)(`the Java worker's llm kind${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let c: TestCluster;
  let fake: FakeOpenAiProvider;
  let id = '';
  const group = new ProcessGroup();

  beforeAll(async () => {
    fake = await startFakeOpenAiProvider({
      models: ['fake-model', 'fake-model-2'],
      tokenDelayMs: (messages) => (messages.some((m) => m.content === LONG) ? 100 : 0),
      fail: (_req, messages) =>
        messages.some((m) => m.content === 'please fail auth')
          ? { status: 401, error: { message: 'Incorrect API key provided: sk-worker', code: 'invalid_api_key' } }
          : messages.some((m) => m.content === 'please be busy')
            ? { status: 503, error: { message: 'overloaded' } }
            : undefined,
    });
    c = await startCluster({ workers: 0 });
    ({ id } = await startJavaWorker(group, c, {
      TASKWIRE_GRPC_URL: `127.0.0.1:${c.grpcPort}`,
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: 'sk-worker',
    }, 45_000));
  }, 90_000);

  afterAll(async () => {
    await group.stopAll();
    await c?.close();
    await fake?.close();
  });

  async function run(input: unknown, extra: { secrets?: Record<string, string>; maxAttempts?: number; stream?: boolean } = {}): Promise<TaskRecord> {
    const { task } = c.master.tasks.admit({ kind: 'llm', input: input as never, ...extra });
    return waitFor(() => {
      const t = c.master.tasks.get(task.id);
      return t && ['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status) ? t : undefined;
    }, `llm task ${task.id}`, 15_000);
  }

  it('advertises the discovered models in its status', () => {
    const w = c.master.registry.get(id)!;
    expect([...w.kinds].sort()).toEqual(['echo', 'image', 'llm', 'sleep']);
    expect(w.status.models.map((m) => `${m.kind}/${m.name}/${m.provider}/${m.ready}`)).toEqual(['llm/fake-model/openai/true', 'llm/fake-model-2/openai/true']);
  });

  it('streams the answer token by token (JDK HttpClient, SSE) and reports usage', async () => {
    const chunks: string[] = [];
    const off = c.master.tasks.events.on('task.chunk', (ch) => ch.kind === 'llm' && chunks.push(ch.text));
    const t = await run(
      { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello from the java worker' }], model: 'fake-model-2', temperature: 0.2, max_tokens: 50 },
      { stream: true },
    );
    off();
    expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
    expect(t.workerLanguage).toBe('java');
    expect(t.result).toMatchObject({ text: 'hello from the java worker', model: 'fake-model-2', provider: 'openai', finish_reason: 'stop' });
    expect(chunks).toEqual(['hello ', 'from ', 'the ', 'java ', 'worker']);
    expect(t.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    const body = fake.chatRequests().at(-1)!.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'fake-model-2', stream: true, temperature: 0.2, max_tokens: 50 });
    expect(fake.chatRequests().at(-1)!.headers['authorization']).toBe('Bearer sk-worker');
  });

  it("uses a user's own key fetched over gRPC, never from MQTT", async () => {
    const t = await run({ messages: [{ role: 'user', content: 'my own key' }] }, { secrets: { provider_api_key: 'sk-user-123' } });
    expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
    expect(fake.chatRequests().at(-1)!.headers['authorization']).toBe('Bearer sk-user-123');
  });

  it('maps provider errors to protocol error codes without leaking the key', async () => {
    const auth = await run({ messages: [{ role: 'user', content: 'please fail auth' }] });
    expect(auth.status).toBe('failed');
    expect(auth.error?.code).toBe('PROVIDER_AUTH');
    expect(auth.error?.message).not.toContain('sk-worker');
    const busy = await run({ messages: [{ role: 'user', content: 'please be busy' }] }, { maxAttempts: 1 });
    expect(busy.error?.code).toBe('PROVIDER_UNAVAILABLE');
  });

  it('reports the CPU time and memory of an attempt that burns CPU (Usage.cpu_us, mem_mib_ms; PROTOCOL.md 7.5)', async () => {
    // 200 000 words to match and emit one by one: tens of ms of CPU, more than getProcessCpuTime()'s 10 ms steps
    const { task } = c.master.tasks.admit({ kind: 'echo', input: { text: 'a '.repeat(200_000) } });
    const t = await waitFor(() => (c.master.tasks.get(task.id)?.status === 'succeeded' ? c.master.tasks.get(task.id) : undefined), 'echo done', 15_000);
    const r = t.resources;
    expect(r?.attempt).toBe(t.attempt);
    expect(r!.cpuUs).toBeGreaterThan(0);
    expect(r!.memMibMs).toBeGreaterThan(0);
    expect(resourceProblems({ started_at_ms: t.startedAtMs!, finished_at_ms: t.finishedAtMs!, usage: { cpu_us: r!.cpuUs, mem_mib_ms: r!.memMibMs } })).toEqual([]);
  });

  it('cancel stops the attempt and closes the provider request', async () => {
    const { task } = c.master.tasks.admit({ kind: 'llm', input: { messages: [{ role: 'user', content: LONG }] }, stream: true });
    await waitFor(() => (c.master.tasks.get(task.id)?.lastSeq ?? 0) >= 3, 'a few streamed tokens', 10_000);
    const aborted = fake.clientAborted();
    c.master.tasks.cancel(task.id, 'stop generating');
    const t = await waitFor(() => (c.master.tasks.get(task.id)?.status === 'cancelled' ? c.master.tasks.get(task.id) : undefined), 'cancelled', 5000);
    expect(t.error).toEqual({ code: 'CANCELLED', message: 'stop generating' });
    await aborted;
  });
});
