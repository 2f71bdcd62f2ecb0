/**
 * The operator CLI (cli/operator-commands.ts) as a user runs it: the built
 * dist/cli/taskwire.js against a real master and workers on port 0; output
 * formats, stable field names and the documented exit codes (0 ok, 1 other,
 * 2 usage, 3 not found, 4 timeout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessGroup } from '../helpers/processes.js';
import { startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';

const group = new ProcessGroup();
let c: TestCluster;

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = group.taskwire(`cli ${args.join(' ')}`, args, { env: { TASKWIRE_URL: c.httpUrl, TASKWIRE_API_KEY: '', ...env } });
  const exit = await p.waitForExit(30_000);
  const of = (s: 'stdout' | 'stderr') => p.lines.filter((l) => l.stream === s).map((l) => l.text).join('\n');
  return { code: exit.code, stdout: of('stdout'), stderr: of('stderr') };
}
const json = <T>(s: string): T => JSON.parse(s) as T;
async function submit(body: unknown): Promise<TaskView> {
  const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as TaskView;
}

beforeAll(async () => {
  c = await startCluster({ workers: 2, workerCapacity: 1 });
}, 60_000);
afterAll(async () => {
  await group.stopAll();
  await c?.close();
});

describe('taskwire cluster / workers / tasks', () => {
  it('cluster status and workers list in table, json and jsonl; bare `workers` still lists', async () => {
    const status = await cli(['cluster', 'status', '-o', 'json']);
    expect(status.code, status.stderr).toBe(0);
    expect(json<{ workers: { online: number }; master_id: string }>(status.stdout)).toMatchObject({ workers: { online: 2 }, master_id: c.master.options.masterId });
    const table = await cli(['cluster', 'status']);
    expect(table.stdout).toMatch(/^master_id\s+/m);
    const bare = await cli(['workers', '-o', 'json']);
    expect(bare.code, bare.stderr).toBe(0);
    const ws = json<{ workers: { id: string; load: number; tasks_succeeded: number }[] }>(bare.stdout).workers;
    expect(ws).toHaveLength(2);
    expect(ws[0]).toHaveProperty('heartbeat_age_ms');
    const jsonl = await cli(['workers', 'list', '-o', 'jsonl']);
    expect(jsonl.code, jsonl.stderr).toBe(0);
    expect(jsonl.stdout.split('\n').map((l) => json<{ id: string }>(l).id).sort()).toEqual(ws.map((w) => w.id).sort());
    const t = await cli(['workers', 'list']);
    expect(t.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+LANGUAGE/);
    expect(t.stdout).toContain(ws[0]!.id);
  });

  it('workers show, drain and resume; exit 3 for an unknown worker', async () => {
    const id = c.master.registry.all()[0]!.id;
    const show = await cli(['workers', 'show', id, '-o', 'json']);
    expect(show.code, show.stderr).toBe(0);
    expect(json<{ id: string }>(show.stdout).id).toBe(id);
    const drain = await cli(['workers', 'drain', id, '-o', 'json']);
    expect(drain.code, drain.stderr).toBe(0);
    expect(json(drain.stdout)).toMatchObject({ id, state: 'draining', confirmed: true });
    expect(c.master.registry.get(id)!.state).toBe('draining');
    const resume = await cli(['workers', 'resume', id]);
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stdout).toMatch(/^state\s+online$/m);
    const missing = await cli(['workers', 'show', 'no-such-worker']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/not found/);
  });

  it('tasks list, show, result, cancel and retry with their exit codes', async () => {
    const done = await waitForTask(c.httpUrl, (await submit({ kind: 'echo', input: { text: 'hello cli' } })).id);
    const result = await cli(['tasks', 'result', done.id]);
    expect(result.code, result.stderr).toBe(0);
    expect(json(result.stdout)).toEqual({ text: 'hello cli' });
    const show = await cli(['tasks', 'show', done.id, '-o', 'json']);
    expect(json<TaskView>(show.stdout)).toMatchObject({ id: done.id, status: 'succeeded' });
    const list = await cli(['tasks', 'list', '--status', 'succeeded', '-o', 'jsonl']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n').map((l) => json<TaskView>(l).id)).toContain(done.id);
    // A running task: result without waiting long enough is a timeout (4); cancel, then retry runs it again.
    const slow = await submit({ kind: 'sleep', input: { ms: 20_000 } });
    const notYet = await cli(['tasks', 'result', slow.id, '--wait', '200']);
    expect(notYet.code).toBe(4);
    const cancel = await cli(['tasks', 'cancel', slow.id, '-o', 'json']);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect((await waitForTask(c.httpUrl, slow.id)).status).toBe('cancelled');
    const failedResult = await cli(['tasks', 'result', slow.id]);
    expect(failedResult.code).toBe(1);
    const retry = await cli(['tasks', 'retry', slow.id, '-o', 'json']);
    expect(retry.code, retry.stderr).toBe(0);
    const r = json<{ task: TaskView; retry_of: string; created: boolean }>(retry.stdout);
    expect(r).toMatchObject({ retry_of: slow.id, created: true });
    expect(r.task.id).not.toBe(slow.id);
    expect((await cli(['tasks', 'cancel', r.task.id])).code).toBe(0);
    // Retrying a succeeded task is a conflict (1); an unknown one is not found (3).
    const conflict = await cli(['tasks', 'retry', done.id]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/CONFLICT/);
    expect((await cli(['tasks', 'show', 'no-such-task'])).code).toBe(3);
  });

  it('tasks cancel / retry --filter with --dry-run', async () => {
    const blockers = await Promise.all([0, 1].map(() => submit({ kind: 'sleep', input: { ms: 20_000 } })));
    const queued = await Promise.all([0, 1, 2].map((i) => submit({ kind: 'echo', input: { text: `bulk ${i}` } })));
    const dry = await cli(['tasks', 'cancel', '--filter', 'status=queued,kind=echo', '--dry-run', '-o', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(json(dry.stdout)).toMatchObject({ action: 'cancel', dry_run: true, matched: 3, affected: 0 });
    const real = await cli(['tasks', 'cancel', '--filter', 'kind=echo']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/^affected\s+3$/m);
    for (const t of queued) expect((await waitForTask(c.httpUrl, t.id)).status).toBe('cancelled');
    for (const b of blockers) await cli(['tasks', 'cancel', b.id]);
    const retry = await cli(['tasks', 'retry', '--filter', 'status=cancelled,kind=echo', '-o', 'jsonl']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(json<{ matched: number; affected: number }>(retry.stdout)).toMatchObject({ matched: 3, affected: 3 });
    expect((await cli(['tasks', 'retry', 'some-id', '--filter', 'kind=echo'])).code).toBe(2);
    expect((await cli(['tasks', 'cancel'])).code).toBe(2);
    expect((await cli(['tasks', 'cancel', '--filter', 'colour=red'])).code).toBe(2);
  });

  it('--watch prints again until stopped', async () => {
    const p = group.taskwire('cli watch', ['cluster', 'status', '--watch', '150', '-o', 'jsonl'], { env: { TASKWIRE_URL: c.httpUrl } });
    await p.waitForLine(/"master_id"/);
    await waitFor(() => p.lines.filter((l) => l.stream === 'stdout' && /"master_id"/.test(l.text)).length >= 3, 'three snapshots');
    await p.stop(2000);
    const w = group.taskwire('cli watch workers', ['workers', '--watch', '150'], { env: { TASKWIRE_URL: c.httpUrl } });
    await waitFor(() => w.lines.filter((l) => /^ID\s+STATE/.test(l.text)).length >= 2, 'two tables');
    await w.stop(2000);
    expect((await cli(['workers', '--watch', '5'])).code).toBe(2);
  });

  it('usage errors exit 2', async () => {
    expect((await cli(['tasks', 'list', '--limit', 'many'])).code).toBe(2);
    expect((await cli(['workers', 'list', '--bogus'])).code).toBe(2);
    expect((await cli(['tasks', 'show'])).code).toBe(2);
    expect((await cli(['workers', 'list', '-o', 'xml'])).code).toBe(2);
    expect((await cli(['tasks', 'list', '--status', 'nonsense'])).code).toBe(2);
  });
});

describe('with API keys', () => {
  let keyed: TestCluster;
  afterAll(async () => keyed?.close());
  it('sends TASKWIRE_API_KEY; a user key cannot drain', async () => {
    keyed = await startCluster({ workers: 1, master: { apiKeys: ['user:user-key-abcdef12', 'operator:op-key-abcdef123'] } });
    const id = keyed.master.registry.all()[0]!.id;
    const url = keyed.httpUrl;
    const asOp = await cli(['workers', 'drain', id, '--url', url, '-o', 'json'], { TASKWIRE_API_KEY: 'op-key-abcdef123' });
    expect(asOp.code, asOp.stderr).toBe(0);
    const asUser = await cli(['workers', 'resume', id, '--url', url], { TASKWIRE_API_KEY: 'user-key-abcdef12' });
    expect(asUser.code).toBe(1);
    expect(asUser.stderr).toMatch(/403 FORBIDDEN/);
    const none = await cli(['workers', 'list', '--url', url]);
    expect(none.code).toBe(1);
  });
});
