/**
 * submit() resolves only once the store says the task is durable, for every
 * surface: TaskService itself, the OpenAI gateway's and KServe's adapters
 * (REST and Socket.IO are covered by their integration tests).
 */
import { describe, expect, it } from 'vitest';
import { TaskService } from '../../master/core/task-service.js';
import { TaskWatchers } from '../../master/core/task-watchers.js';
import { MemoryTaskStore } from '../../master/store/task-store.js';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import { ResultTokens } from '../../common/result-token.js';
import { silentLogger } from '../../common/logger.js';
import { gatewayTasks } from '../../master/http/gateway-tasks.js';
import { kserveBackend } from '../../master/http/kserve-backend.js';
import type { WorkerStatus__Output } from '../../common/wire.js';

/** A memory store whose commits complete only when the test says so. */
class GatedStore extends MemoryTaskStore {
  commits = 0;
  private waiting: (() => void)[] = [];
  override commit(): Promise<void> {
    this.commits++;
    return new Promise((r) => this.waiting.push(r));
  }
  open(): void {
    for (const r of this.waiting.splice(0)) r();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function setup() {
  const clock = { now: () => 1_000_000 };
  const store = new GatedStore(100);
  const registry = new WorkerRegistry(clock);
  const svc = new TaskService(store, registry, new ResultTokens('a-secret-that-is-long-enough-123'), clock, silentLogger(), {
    maxAttempts: 3, taskTimeoutMs: 60_000, queueTimeoutMs: 0, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000,
    maxInputBytes: 1 << 20, retryBaseMs: 100, retryMaxMs: 1000, cancelGraceMs: 2000,
  });
  registry.applyStatus({
    worker_id: 'w1', state: 'WORKER_STATE_ONLINE', kinds: ['echo', 'llm', 'infer'], capacity: 4, running: 0, language: 'typescript', version: '1',
    protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, labels: {}, reason: '', load: null,
    models: [
      { kind: 'llm', name: 'm', versions: [], ready: true, provider: 'p', execution_provider: '' },
      { kind: 'infer', name: 'mnist', versions: ['1'], ready: true, provider: '', execution_provider: 'cpu' },
    ],
  } as unknown as WorkerStatus__Output);
  return { svc, store, registry, watchers: new TaskWatchers(svc) };
}

async function settles(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 5; i++) await tick();
  return done;
}

describe('durable submit in one place', () => {
  it('TaskService.submit and submitMany wait for the commit; admit does not', async () => {
    const { svc, store } = setup();
    const one = svc.submit({ kind: 'echo', input: { text: 'x' } });
    const many = svc.submitMany([{ kind: 'echo', input: { text: 'a' } }, { kind: 'echo', input: { text: 'b' } }]);
    expect(await settles(one)).toBe(false);
    expect(await settles(many)).toBe(false);
    expect(store.commits).toBe(2);
    store.open();
    expect((await one).created).toBe(true);
    expect((await many).map((o) => o.created)).toEqual([true, true]);
    expect(svc.admit({ kind: 'echo', input: { text: 'y' } }).created).toBe(true);
    expect(store.commits).toBe(2);
  });

  it('the OpenAI gateway adapter acknowledges only a durable task', async () => {
    const { svc, store, registry, watchers } = setup();
    const p = Promise.resolve(gatewayTasks(svc, watchers, registry).submit({ kind: 'llm', input: { messages: [{ role: 'user', content: 'hi' }] } }));
    expect(await settles(p)).toBe(false);
    expect(store.commits).toBe(1);
    store.open();
    expect((await p).status).toBe('queued');
  });

  it('KServe runs an infer task only after it is durable', async () => {
    const { svc, store, registry, watchers } = setup();
    void kserveBackend(svc, watchers, registry, () => true)
      .infer('mnist', undefined, { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] } as never, new AbortController().signal)
      .catch(() => undefined);
    await tick();
    expect(store.commits).toBe(1);
    const [t] = svc.list({ limit: 10 });
    expect(t?.kind).toBe('infer');
    store.open();
    svc.cancel(t!.id);
  });
});
