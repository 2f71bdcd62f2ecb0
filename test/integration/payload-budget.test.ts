/**
 * A caller cannot make the master hold unbounded task input: past its
 * share of unfinished bytes a submit gets 429 with Retry-After, naming the
 * limit; the bytes come back when its tasks finish, whatever way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const big = (tag: string, bytes = 900 * 1024) => ({ kind: 'echo', input: { text: tag.padEnd(bytes, 'x') } });
const post = (c: TestCluster, path: string, body: unknown) =>
  fetch(`${c.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('unfinished input bytes per caller', () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('refuses the submit that would pass the budget with 429 + Retry-After, and admits again once tasks finish', async () => {
    c = await startCluster({ workers: 0, master: { maxUnfinishedBytes: 2 * 1024 * 1024 } }); // no worker: tasks stay queued
    const a = await post(c, '/api/v1/tasks', big('a'));
    const b = await post(c, '/api/v1/tasks', big('b'));
    expect([a.status, b.status]).toEqual([202, 202]);
    const refused = await post(c, '/api/v1/tasks', big('c'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.message).toMatch(/limit 2097152/);
    // a batch that would pass it is refused whole
    expect((await post(c, '/api/v1/tasks/batch', { tasks: [big('d', 150 * 1024), big('e', 150 * 1024)] })).status).toBe(429);
    // small work still goes in under the budget, and the master answers
    expect((await post(c, '/api/v1/tasks', { kind: 'echo', input: { text: 'small' } })).status).toBe(202);
    expect((await fetch(`${c.httpUrl}/healthz`)).status).toBe(200);
    // a worker drains the queue: the bytes come back
    await c.addWorker();
    const id = ((await a.json()) as { id: string }).id;
    await waitFor(async () => ((await (await fetch(`${c!.httpUrl}/api/v1/tasks/${id}`)).json()) as { status: string }).status === 'succeeded', 'first task done');
    await waitFor(() => c!.master.tasks.budget.totalBytes < 1024 * 1024, 'bytes released');
    expect((await post(c, '/api/v1/tasks', big('f'))).status).toBe(202);
  });
});
