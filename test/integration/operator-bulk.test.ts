import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';

interface BulkAnswer {
  action: string;
  dry_run: boolean;
  matched: number;
  affected: number;
  task_ids: string[];
  truncated: boolean;
}

async function post(c: TestCluster, path: string, body: unknown): Promise<Response> {
  return fetch(`${c.httpUrl}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}
async function submit(c: TestCluster, body: unknown): Promise<TaskView> {
  return (await (await post(c, '/tasks', body)).json()) as TaskView;
}

describe('bulk cancel / retry by filter', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('dry_run counts the matches and changes nothing; the real run cancels them and a bulk retry runs them again', async () => {
    c = await startCluster({ workers: 1, workerCapacity: 1 });
    const blocker = await submit(c, { kind: 'sleep', input: { ms: 30_000 } });
    await waitFor(async () => ((await (await fetch(`${c!.httpUrl}/api/v1/tasks/${blocker.id}`)).json()) as TaskView).status === 'running', 'blocker running');
    const echoes = await Promise.all(Array.from({ length: 5 }, (_, i) => submit(c!, { kind: 'echo', input: { text: `e${i}` } })));

    const dry = await post(c, '/tasks/bulk/cancel', { filter: { status: 'queued', kind: 'echo' }, dry_run: true });
    expect(dry.status).toBe(200);
    const d = (await dry.json()) as BulkAnswer;
    expect(d).toMatchObject({ action: 'cancel', dry_run: true, matched: 5, affected: 0, truncated: false });
    expect(d.task_ids.sort()).toEqual(echoes.map((t) => t.id).sort());
    expect(((await (await fetch(`${c.httpUrl}/api/v1/tasks/${echoes[0]!.id}`)).json()) as TaskView).status).toBe('queued');

    const real = (await (await post(c, '/tasks/bulk/cancel', { filter: { kind: 'echo' } })).json()) as BulkAnswer;
    expect(real).toMatchObject({ matched: 5, affected: 5, dry_run: false });
    for (const t of echoes) expect((await waitForTask(c.httpUrl, t.id)).status).toBe('cancelled');
    // The sleep (another kind) was not touched.
    expect(((await (await fetch(`${c.httpUrl}/api/v1/tasks/${blocker.id}`)).json()) as TaskView).status).toBe('running');

    expect(((await (await post(c, '/tasks/bulk/retry', { filter: { kind: 'echo', status: 'cancelled' }, dry_run: true })).json()) as BulkAnswer).matched).toBe(5);
    expect((await post(c, '/tasks/:id/cancel'.replace(':id', blocker.id), {})).status).toBe(202);
    const retried = (await (await post(c, '/tasks/bulk/retry', { filter: { kind: 'echo' } })).json()) as BulkAnswer;
    expect(retried).toMatchObject({ action: 'retry', matched: 5, affected: 5 });
    // The retries are new echo tasks that succeed with the old inputs.
    await waitFor(async () => {
      const list = (await (await fetch(`${c!.httpUrl}/api/v1/tasks?status=succeeded&limit=100`)).json()) as { tasks: TaskView[] };
      const texts = list.tasks.filter((t) => t.kind === 'echo').map((t) => (t.result as { text: string }).text).sort();
      return texts.length === 5 && texts.join(',') === 'e0,e1,e2,e3,e4';
    }, 'the five retries to succeed');
    // Retrying the same set again creates nothing new (each is linked to its one retry).
    const again = (await (await post(c, '/tasks/bulk/retry', { filter: { kind: 'echo' } })).json()) as BulkAnswer;
    expect(again).toMatchObject({ matched: 5, affected: 0 });
  });

  it('refuses a status the action does not apply to, and unknown fields', async () => {
    c = await startCluster({ workers: 1 });
    const bad = await post(c, '/tasks/bulk/retry', { filter: { status: 'running' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('filter.status');
    expect((await post(c, '/tasks/bulk/cancel', { filter: { text: 'x' } })).status).toBe(400);
  });
});
