/**
 * A mixed cluster: one master, one TypeScript worker and one Python worker.
 * Tasks go to both; the Socket.IO chat stream and the REST view say which
 * language answered (worker_language "typescript" / "python").
 */
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView, WorkerView } from '../../common/task-view.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { join } from 'node:path';
import { ProcessGroup, REPO_ROOT } from '../helpers/processes.js';
import { startPythonWorker } from './python-worker.js';
import { PYTHON, pythonMissing } from './worker-implementations.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const missing = pythonMissing();

describe.skipIf(missing !== undefined)(`a mixed TypeScript + Python cluster${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let c: TestCluster;
  let pythonId = '';
  let healthFile = '';
  const group = new ProcessGroup();
  let socket: ClientSocket | undefined;

  beforeAll(async () => {
    c = await startCluster({ workers: 1, workerCapacity: 4 });
    // No TASKWIRE_GRPC_URL: the Python worker finds ResultService in the retained master status.
    ({ id: pythonId, healthFile } = await startPythonWorker(group, c));
    await c.waitForWorkers(2);
  }, 60_000);

  afterAll(async () => {
    socket?.disconnect();
    await group.stopAll();
    await c?.close();
  });

  it('lists both workers with their language over REST', async () => {
    const body = (await (await fetch(`${c.httpUrl}/api/v1/workers`)).json()) as { workers: WorkerView[] };
    const byId = new Map(body.workers.map((w) => [w.id, w]));
    expect(byId.get(pythonId)?.language).toBe('python');
    expect(byId.get(c.workers[0]!.id)?.language).toBe('typescript');
    expect(byId.get(pythonId)?.state).toBe('online');
    expect(byId.get(pythonId)?.kinds).toEqual(expect.arrayContaining(['echo', 'sleep']));
  });

  it('streams chat answers from both languages and says which one answered', async () => {
    socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false }) as ClientSocket;
    await new Promise<void>((resolve, reject) => {
      socket!.once('session', () => resolve());
      socket!.once('connect_error', reject);
    });
    const chunks = new Map<string, TaskChunkEvent[]>();
    const done = new Map<string, TaskView>();
    socket.on('task:chunk', (ch) => chunks.set(ch.id, [...(chunks.get(ch.id) ?? []), ch]));
    socket.on('task:done', (t) => done.set(t.id, t));
    const texts = Array.from({ length: 8 }, (_, i) => `question ${i} answered by some worker in some language`);
    const ids: string[] = [];
    for (const text of texts) {
      const ack = await socket.emitWithAck('task:submit', { kind: 'echo', input: { text, delay_ms: 30 } });
      if (!ack.ok) throw new Error(ack.error.message);
      ids.push(ack.data.id);
    }
    await waitFor(() => ids.every((id) => done.has(id)), 'every task:done', 20_000);
    const languages = new Set<string | null>();
    for (const [i, id] of ids.entries()) {
      const t = done.get(id)!;
      expect(t.status, JSON.stringify(t)).toBe('succeeded');
      expect(t.result).toEqual({ text: texts[i] });
      expect((chunks.get(id) ?? []).map((ch) => ch.text).join('')).toBe(texts[i]);
      expect(t.worker_language).toBe(t.worker_id === pythonId ? 'python' : 'typescript');
      languages.add(t.worker_language);
    }
    expect([...languages].sort()).toEqual(['python', 'typescript']);
    // The REST view of a task the Python worker ran says so too.
    const fromPython = ids.find((id) => done.get(id)!.worker_id === pythonId)!;
    const view = (await (await fetch(`${c.httpUrl}/api/v1/tasks/${fromPython}`)).json()) as TaskView;
    expect(view.worker_language).toBe('python');
    expect(view.timings.ttft_ms).not.toBeNull();
  });

  it("the container health check passes while the Python worker is connected", async () => {
    const health = () =>
      new Promise<number | null>((resolve) => {
        const p = group.spawn('health', PYTHON, ['-m', 'taskwire_worker.health', healthFile], { cwd: join(REPO_ROOT, 'worker', 'python') });
        void p.exited.then((e) => resolve(e.code));
      });
    await waitFor(async () => (await health()) === 0, 'a passing health check', 10_000, 200);
  });

  it('moves work to the TypeScript worker when the Python worker goes away', async () => {
    const py = group.processes.find((p) => p.name === pythonId)!;
    await py.stop(10_000);
    await waitFor(() => c.master.registry.get(pythonId)?.state === 'offline', 'the Python worker offline', 10_000);
    const res = await fetch(`${c.httpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'echo', input: { text: 'after python left' } }),
    });
    const { id } = (await res.json()) as TaskView;
    const t = await waitFor(
      async () => {
        const v = (await (await fetch(`${c.httpUrl}/api/v1/tasks/${id}`)).json()) as TaskView;
        return v.status === 'succeeded' ? v : undefined;
      },
      'the task to succeed',
      10_000,
    );
    expect(t.worker_language).toBe('typescript');
    // A stopped worker removes its health file: the health check fails.
    const p = group.spawn('health-after', PYTHON, ['-m', 'taskwire_worker.health', healthFile], { cwd: join(REPO_ROOT, 'worker', 'python') });
    expect((await p.exited).code).toBe(1);
  });
});
