/**
 * Server-side task search (GET /api/v1/tasks with filters, full-text `q` and
 * cursor pages; GET /api/v1/tasks/export as CSV, JSON Lines and JSON) on a
 * real master with its SQLite store (FTS5, across a restart) and with the
 * memory store (a scan).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../common/task-view.js';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

type Page = { tasks: TaskView[]; next_cursor: string | null };

async function get(c: TestCluster, query: string): Promise<Page> {
  const res = await fetch(`${c.httpUrl}/api/v1/tasks?${query}`);
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  return (await res.json()) as Page;
}

async function all(c: TestCluster, query: string, pageSize: number): Promise<TaskView[]> {
  const out: TaskView[] = [];
  let cursor: string | null = '';
  for (let i = 0; i < 1000 && cursor !== null; i++) {
    const page = await get(c, `${query}&limit=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.tasks);
    cursor = page.next_cursor;
  }
  return out;
}

async function submit(c: TestCluster, body: unknown): Promise<TaskView> {
  const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(202);
  return (await res.json()) as TaskView;
}

describe.each(['sqlite', 'memory'] as const)('task search (%s store)', (store) => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('filters, searches text, pages with a cursor, exports, and refuses bad queries naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-search-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const c = await startCluster({ workers: 1, master: store === 'sqlite' ? { dataDir: dir } : {} });
    cleanup.push(() => c.close());
    await c.waitForWorkers(1);
    const t0 = Date.now();
    const echoes: TaskView[] = [];
    for (let i = 0; i < 25; i++) {
      const text = i % 8 === 3 ? `quick zebra number ${i}` : `plain words number ${i}, "quoted", =1+1`;
      echoes.push(await runTask(c.httpUrl, { kind: 'echo', input: { text }, priority: i % 3 }));
    }
    const slow = await submit(c, { kind: 'sleep', input: { ms: 60_000 } });
    const doomed = await submit(c, { kind: 'sleep', input: { ms: 60_000 } });
    await waitFor(async () => ((await (await fetch(`${c.httpUrl}/api/v1/tasks/${slow.id}`)).json()) as TaskView).status === 'running', 'slow running');
    await waitFor(async () => (await (await fetch(`${c.httpUrl}/api/v1/tasks/${doomed.id}`)).json() as TaskView).status !== 'queued', 'doomed assigned');
    expect((await fetch(`${c.httpUrl}/api/v1/tasks/${doomed.id}/cancel`, { method: 'POST' })).status).toBe(202);
    await waitFor(async () => ((await (await fetch(`${c.httpUrl}/api/v1/tasks/${doomed.id}`)).json()) as TaskView).status === 'cancelled', 'doomed cancelled', 15_000);

    // Every echo task exactly once, newest first, over pages of 7.
    const paged = await all(c, 'kind=echo', 7);
    expect(paged.map((t) => t.id)).toEqual(echoes.map((t) => t.id).reverse());

    // Full-text over input and result; with another filter.
    const zebras = echoes.filter((_, i) => i % 8 === 3).map((t) => t.id).reverse();
    expect((await get(c, 'q=zebra')).tasks.map((t) => t.id)).toEqual(zebras);
    expect((await get(c, 'q=ZEBRA+quick')).tasks.map((t) => t.id)).toEqual(zebras);
    expect((await all(c, 'q=zebra', 1)).map((t) => t.id)).toEqual(zebras);
    expect((await get(c, 'q=zebra&priority=0')).tasks.map((t) => t.priority)).toEqual([0]); // i = 3, 11, 19: priority 0, 2, 1
    expect((await get(c, 'q=nosuchword')).tasks).toEqual([]);

    // Status (live ones too), priority, worker, time.
    expect((await get(c, 'status=cancelled')).tasks.map((t) => t.id)).toEqual([doomed.id]);
    expect((await get(c, 'status=running,assigned')).tasks.map((t) => t.id)).toEqual([slow.id]);
    // An unfinished task is found by text too (its input), and a finished one by its error.
    expect((await get(c, 'q=60000')).tasks.map((t) => t.id).sort()).toEqual([slow.id, doomed.id].sort());
    expect((await get(c, 'q=60000&status=running')).tasks.map((t) => t.id)).toEqual([slow.id]);
    expect((await get(c, 'status=succeeded&limit=1000')).tasks).toHaveLength(25);
    expect((await all(c, 'kind=echo&priority=2', 3)).every((t) => t.priority === 2)).toBe(true);
    const workerId = c.master.registry.all()[0]!.id;
    expect((await get(c, `worker=${workerId}&kind=echo&limit=1000`)).tasks).toHaveLength(25);
    expect((await get(c, `until=${t0 - 1}`)).tasks).toEqual([]);
    expect((await get(c, `since=${new Date(t0 - 1000).toISOString()}&limit=1000`)).tasks).toHaveLength(27);
    // The older form still answers.
    expect((await get(c, 'status=succeeded&limit=5')).tasks).toHaveLength(5);

    // Export: CSV, JSON Lines, JSON, all of the filter.
    const csv = await (await fetch(`${c.httpUrl}/api/v1/tasks/export?kind=echo&format=csv`)).text();
    const rows = csv.trimEnd().split('\r\n');
    expect(rows[0]).toMatch(/^id,kind,model,status,priority,attempt,worker_id,created_at/);
    expect(rows).toHaveLength(26);
    expect(csv).toContain(`"{""text"":""plain words number 0, \\""quoted\\"", =1+1""}"`);
    const jsonlRes = await fetch(`${c.httpUrl}/api/v1/tasks/export?q=zebra&format=jsonl`);
    expect(jsonlRes.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await jsonlRes.text()).trim().split('\n').map((l) => JSON.parse(l) as TaskView & { input: { text: string } });
    expect(lines.map((l) => l.id)).toEqual(zebras);
    expect(lines[0]!.input.text).toContain('zebra');
    const arr = (await (await fetch(`${c.httpUrl}/api/v1/tasks/export?status=succeeded&format=json`)).json()) as TaskView[];
    expect(arr).toHaveLength(25);

    // Bad input: 400 naming the field.
    for (const [q, field] of [['status=nope', 'status'], ['cursor=bm9wZQ', 'cursor'], ['limit=0', 'limit'], ['since=yesterday', 'since'], ['priority=12', 'priority'], ['color=red', 'color']] as const) {
      const res = await fetch(`${c.httpUrl}/api/v1/tasks?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { field: string } }).error.field.split('.')[0], q).toBe(field);
    }
    expect((await fetch(`${c.httpUrl}/api/v1/tasks/export?format=xml`)).status).toBe(400);

    if (store === 'sqlite') {
      // The index survives a restart of the master on the same data dir.
      await fetch(`${c.httpUrl}/api/v1/tasks/${slow.id}/cancel`, { method: 'POST' });
      await c.close();
      cleanup.pop();
      const again = await startCluster({ workers: 0, master: { dataDir: dir } });
      cleanup.push(() => again.close());
      expect((await get(again, 'q=zebra')).tasks.map((t) => t.id)).toEqual(zebras);
      expect((await all(again, 'kind=echo', 10)).map((t) => t.id)).toEqual(echoes.map((t) => t.id).reverse());
    }
  }, 60_000);

  it('a user key searches and exports only its own tasks; an operator key every task', async () => {
    const c = await startCluster({ master: { apiKeys: ['user:user-key-123456', 'operator:op-key-1234567'] } });
    cleanup.push(() => c.close());
    const submit = async (key: string) =>
      ((await (await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'x marks' } }) })).json()) as { id: string }).id;
    const mine = await submit('user-key-123456');
    const theirs = await submit('op-key-1234567');
    for (const path of ['/api/v1/tasks?q=x', '/api/v1/tasks/export']) {
      const asUser = await fetch(`${c.httpUrl}${path}`, { headers: { authorization: 'Bearer user-key-123456' } });
      const userText = await asUser.text();
      expect(asUser.status).toBe(200);
      expect(userText).toContain(mine);
      expect(userText).not.toContain(theirs);
      const asOperator = await fetch(`${c.httpUrl}${path}`, { headers: { authorization: 'Bearer op-key-1234567' } });
      const opText = await asOperator.text();
      expect(asOperator.status).toBe(200);
      expect(opText).toContain(mine);
      expect(opText).toContain(theirs);
    }
  });
});
