import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';
import { TaskFailure, type TaskContext, type TaskHandler, type TaskOutput } from '../../worker/handlers/task-handler.js';

/** Fails while `failing` is set, then answers like echo. */
class FlakyHandler implements TaskHandler {
  readonly kind = 'flaky';
  failing = true;
  async run(ctx: TaskContext): Promise<TaskOutput> {
    if (this.failing) throw new TaskFailure('BAD_INPUT', 'failing on purpose');
    return { output: ctx.input };
  }
}

const json = { 'content-type': 'application/json' };
async function post(c: TestCluster, path: string, body?: unknown): Promise<Response> {
  return fetch(`${c.httpUrl}/api/v1${path}`, { method: 'POST', headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
}
async function submit(c: TestCluster, body: unknown): Promise<TaskView> {
  const res = await post(c, '/tasks', body);
  expect(res.status).toBe(202);
  return (await res.json()) as TaskView;
}

describe('operator REST: workers, drain/resume, retry', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('lists workers with load and task statistics; detail and 404', async () => {
    c = await startCluster({ workers: 1 });
    const id = c.master.registry.all()[0]!.id;
    for (let i = 0; i < 3; i++) expect((await waitForTask(c.httpUrl, (await submit(c, { kind: 'sleep', input: { ms: 20 } })).id)).status).toBe('succeeded');
    const list = (await (await fetch(`${c.httpUrl}/api/v1/workers`)).json()) as { workers: Record<string, unknown>[] };
    expect(list.workers).toHaveLength(1);
    const w = list.workers[0]!;
    expect(w).toMatchObject({ id, state: 'online', capacity: 4, running: 0, load: 0, tasks_succeeded: 3, tasks_failed: 0, suspect: false, language: 'typescript' });
    expect(w['kinds']).toContain('echo');
    expect(w['heartbeat_age_ms']).toBeTypeOf('number');
    expect(w['run_ms_mean']).toBeGreaterThanOrEqual(15);
    expect(w['run_ms_p95']).toBeGreaterThanOrEqual(15);
    const one = await fetch(`${c.httpUrl}/api/v1/workers/${id}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { id: string }).id).toBe(id);
    const missing = await fetch(`${c.httpUrl}/api/v1/workers/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await post(c, '/workers/nope/drain')).status).toBe(404);
  });

  it('a drained worker finishes its running task, gets no new work and shows draining; resume gives it work again', async () => {
    c = await startCluster({ workers: 2, workerCapacity: 2 });
    const [a, b] = c.master.registry.all().map((w) => w.id) as [string, string];
    // Something running on a when it is drained: it must finish there.
    let running: TaskView | undefined;
    for (let i = 0; i < 6 && !running; i++) {
      const t = await submit(c, { kind: 'sleep', input: { ms: 400 } });
      const v = await waitFor(async () => {
        const x = (await (await fetch(`${c!.httpUrl}/api/v1/tasks/${t.id}`)).json()) as TaskView;
        return x.worker_id ? x : undefined;
      }, 'assigned');
      if (v.worker_id === a) running = v;
    }
    expect(running).toBeDefined();
    const res = await post(c, `/workers/${a}/drain`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: a, state: 'draining', confirmed: true });
    expect(((await (await fetch(`${c.httpUrl}/api/v1/workers/${a}`)).json()) as { state: string }).state).toBe('draining');
    const tasks = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(c!, { kind: 'echo', input: { text: `t${i}` } })));
    const done = await Promise.all(tasks.map((t) => waitForTask(c!.httpUrl, t.id)));
    expect(done.every((t) => t.status === 'succeeded' && t.worker_id === b)).toBe(true);
    const finished = await waitForTask(c.httpUrl, running!.id);
    expect(finished).toMatchObject({ status: 'succeeded', worker_id: a });

    const resumed = await post(c, `/workers/${a}/resume`);
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toMatchObject({ id: a, state: 'online', confirmed: true });
    await waitFor(async () => {
      const t = await waitForTask(c!.httpUrl, (await submit(c!, { kind: 'echo', input: { text: 'again' } })).id);
      return t.worker_id === a;
    }, 'a task on the resumed worker', 10_000);
  });

  it('retries a failed task as a new linked task that runs again; 409 for a live or succeeded task, 404 for none', async () => {
    const flaky = new FlakyHandler();
    c = await startCluster({ workers: 1, workerDeps: { handlers: [flaky] } });
    const failed = await waitForTask(c.httpUrl, (await submit(c, { kind: 'flaky', input: { n: 1 }, max_attempts: 1 })).id);
    expect(failed.status).toBe('failed');
    flaky.failing = false;
    const res = await post(c, `/tasks/${failed.id}/retry`);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { task: TaskView; retry_of: string; created: boolean };
    expect(body.retry_of).toBe(failed.id);
    expect(body.created).toBe(true);
    expect(body.task.id).not.toBe(failed.id);
    const again = await waitForTask(c.httpUrl, body.task.id);
    expect(again).toMatchObject({ status: 'succeeded', result: { n: 1 }, kind: 'flaky' });
    // The same retry twice: the one retry, not a third run.
    const twice = await post(c, `/tasks/${failed.id}/retry`);
    expect(twice.status).toBe(200);
    expect(((await twice.json()) as { task: TaskView }).task.id).toBe(body.task.id);
    const ok = await post(c, `/tasks/${again.id}/retry`);
    expect(ok.status).toBe(409);
    expect(((await ok.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'CONFLICT' });
    expect((await post(c, '/tasks/nope/retry')).status).toBe(404);
  });

  it('retries a cancelled task', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    const blocker = await submit(c, { kind: 'sleep', input: { ms: 300 } });
    const queued = await submit(c, { kind: 'echo', input: { text: 'later' } });
    expect((await post(c, `/tasks/${queued.id}/cancel`)).status).toBe(202);
    expect((await waitForTask(c.httpUrl, queued.id)).status).toBe('cancelled');
    const res = await post(c, `/tasks/${queued.id}/retry`);
    expect(res.status).toBe(202);
    const { task } = (await res.json()) as { task: TaskView };
    expect(await waitForTask(c.httpUrl, task.id)).toMatchObject({ status: 'succeeded', result: { text: 'later' } });
    await waitForTask(c.httpUrl, blocker.id);
  });

  it('needs an operator key for drain and retry when keys are set', async () => {
    c = await startCluster({ workers: 1, master: { apiKeys: ['user:user-key-123456', 'operator:op-key-1234567'] } });
    const id = c.master.registry.all()[0]!.id;
    const asUser = await fetch(`${c.httpUrl}/api/v1/workers/${id}/drain`, { method: 'POST', headers: { authorization: 'Bearer user-key-123456' } });
    expect(asUser.status).toBe(403);
    const asOp = await fetch(`${c.httpUrl}/api/v1/workers/${id}/drain`, { method: 'POST', headers: { authorization: 'Bearer op-key-1234567' } });
    expect(asOp.status).toBe(200);
  });
});
