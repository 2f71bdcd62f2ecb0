/**
 * The Python worker's `llm` kind against a local OpenAI-compatible server
 * (test/llm/fake-openai-provider.ts speaks the documented wire format):
 * model discovery, streamed tokens, usage, a user's own key via FetchSecrets,
 * provider errors, and cancel closing the provider request.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../master/core/task-record.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup } from '../helpers/processes.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { startPythonWorker } from './python-worker.js';
import { pythonMissing } from './worker-implementations.js';

const missing = pythonMissing();
const LONG = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');

describe.skipIf(missing !== undefined)(`the Python worker's llm kind${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let c: TestCluster;
  let fake: FakeOpenAiProvider;
  let workerId = '';
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
    workerId = (await startPythonWorker(group, c, { env: { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-worker' }, explicitGrpc: true })).id;
  }, 60_000);

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
    const w = c.master.registry.get(workerId)!;
    // `image` too where Debian's python3-pil is installed (the worker serves it with Pillow).
    const pillow = spawnSync('/usr/bin/python3', ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0; // the interpreter run.sh uses
    expect([...w.kinds].sort()).toEqual(pillow ? ['echo', 'image', 'llm', 'sleep'] : ['echo', 'llm', 'sleep']);
    expect(w.status.models.map((m) => `${m.kind}/${m.name}/${m.provider}/${m.ready}`)).toEqual(['llm/fake-model/openai/true', 'llm/fake-model-2/openai/true']);
  });

  it('streams the answer token by token and reports usage', async () => {
    const chunks: string[] = [];
    const off = c.master.tasks.events.on('task.chunk', (ch) => ch.kind === 'llm' && chunks.push(ch.text));
    const t = await run(
      { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello from the python worker' }], model: 'fake-model-2', temperature: 0.2, max_tokens: 50 },
      { stream: true },
    );
    off();
    expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
    expect(t.workerLanguage).toBe('python');
    expect(t.result).toMatchObject({ text: 'hello from the python worker', model: 'fake-model-2', provider: 'openai', finish_reason: 'stop' });
    expect(chunks).toEqual(['hello ', 'from ', 'the ', 'python ', 'worker']);
    expect(t.usage).toEqual({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    const body = fake.chatRequests().at(-1)!.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'fake-model-2', stream: true, temperature: 0.2, max_tokens: 50 });
    expect(fake.chatRequests().at(-1)!.headers['authorization']).toBe('Bearer sk-worker');
  });

  it('sends no chunks when nobody watches (stream false), the final carries the whole answer', async () => {
    const chunks: string[] = [];
    const off = c.master.tasks.events.on('task.chunk', (ch) => ch.kind === 'llm' && chunks.push(ch.text));
    const t = await run({ messages: [{ role: 'user', content: 'quiet answer please' }] }, { stream: false });
    off();
    expect(t.status, JSON.stringify(t.error)).toBe('succeeded');
    expect(t.result).toMatchObject({ text: 'quiet answer please' });
    expect(chunks).toEqual([]);
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
    expect(busy.status).toBe('failed');
    expect(busy.error?.code).toBe('PROVIDER_UNAVAILABLE');
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
