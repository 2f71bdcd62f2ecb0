/**
 * POST /api/v1/tasks/batch: many tasks in one request, all or nothing, one
 * durable commit; idempotency keys work across and within batches.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitForTask, type TestCluster } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';
import { assertCliBuilt, TASKWIRE_CLI } from '../helpers/processes.js';

const cli = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [TASKWIRE_CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );

type BatchResponse = { tasks: TaskView[]; created: boolean[] };

describe('REST batch submit', () => {
  let c: TestCluster;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'taskwire-batch-'));
    c = await startCluster({ workers: 2, master: { dataDir } });
  });
  afterAll(async () => {
    await c?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const batch = async (body: unknown) => {
    const res = await fetch(`${c.httpUrl}/api/v1/tasks/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as BatchResponse & { error?: { code: string; message: string } } };
  };
  const taskCount = async () => ((await (await fetch(`${c.httpUrl}/api/v1/tasks?limit=1000`)).json()) as { tasks: TaskView[] }).tasks.length;

  it('submits every task in order and each one runs', async () => {
    const tasks = Array.from({ length: 200 }, (_, i) => ({ kind: 'echo', input: { text: `item ${i}` }, priority: i % 10 }));
    const { status, body } = await batch({ tasks });
    expect(status).toBe(202);
    expect(body.tasks).toHaveLength(200);
    expect(body.created.every(Boolean)).toBe(true);
    expect(new Set(body.tasks.map((t) => t.id)).size).toBe(200);
    body.tasks.forEach((t, i) => expect(t.priority).toBe(i % 10));
    const done = await Promise.all(body.tasks.map((t) => waitForTask(c.httpUrl, t.id)));
    done.forEach((t, i) => expect(t.result).toEqual({ text: `item ${i}` }));
  });

  it('is all or nothing: one bad item rejects the batch with its index, and nothing is created', async () => {
    const before = await taskCount();
    const bad = await batch({ tasks: [{ kind: 'echo', input: { text: 'ok' } }, { kind: 'echo', input: { text: 'ok' } }, { kind: 'sleep', input: { ms: 'long' } }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toMatch(/^tasks\.2\.input/);
    const unknownField = await batch({ tasks: [{ kind: 'echo', input: {}, colour: 'red' }] });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error!.message).toMatch(/tasks\.0/);
    const unserved = await batch({ tasks: [{ kind: 'echo', input: { text: 'x' } }, { kind: 'llm', input: { messages: [{ role: 'user', content: 'hi' }] } }] });
    expect(unserved.status).toBe(400);
    expect(unserved.body.error!.message).toMatch(/^tasks\.1\.kind: no worker serves kind "llm"/);
    expect((await batch({ tasks: [] })).status).toBe(400);
    expect((await batch({ tasks: Array.from({ length: 1001 }, () => ({ kind: 'echo', input: {} })) })).status).toBe(400);
    expect((await batch([{ kind: 'echo' }])).status).toBe(400);
    expect(await taskCount()).toBe(before);
  });

  it('honours idempotency keys across batches and within one batch', async () => {
    const first = await batch({ tasks: [{ kind: 'echo', input: { text: 'a' }, idempotency_key: 'bk-1' }, { kind: 'echo', input: { text: 'b' }, idempotency_key: 'bk-1' }] });
    expect(first.status).toBe(202);
    expect(first.body.created).toEqual([true, false]);
    expect(first.body.tasks[1]!.id).toBe(first.body.tasks[0]!.id);
    const again = await batch({ tasks: [{ kind: 'echo', input: { text: 'c' }, idempotency_key: 'bk-1' }] });
    expect(again.status).toBe(200); // nothing new
    expect(again.body.created).toEqual([false]);
    expect(again.body.tasks[0]!.id).toBe(first.body.tasks[0]!.id);
  });

  it('CLI submit-batch: a JSON Lines file, errors name the line', async () => {
    assertCliBuilt();
    const file = join(dataDir, 'tasks.jsonl');
    writeFileSync(file, '{"kind": "echo", "input": {"text": "one"}}\n\n{"kind": "echo", "input": {"text": "two"}, "priority": 9}\n');
    const ok = await cli(['submit-batch', file, '--url', c.httpUrl]);
    expect(ok.code, ok.stderr).toBe(0);
    const ids = ok.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]!);
    expect(ids).toHaveLength(2);
    expect((await waitForTask(c.httpUrl, ids[1]!)).result).toEqual({ text: 'two' });
    writeFileSync(file, '{"kind": "echo", "input": {"text": "fine"}}\n{"kind": "sleep", "input": {"ms": -1}}\n');
    const bad = await cli(['submit-batch', file, '--url', c.httpUrl]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/line 2\.input.*nothing was submitted/);
    writeFileSync(file, '{"kind": "echo"}\nnot json\n');
    const broken = await cli(['submit-batch', file, '--url', c.httpUrl]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/line 2: not valid JSON/);
  });

  it('batch-submitted tasks are in the durable store: a restarted master has them', async () => {
    for (const w of c.workers) await w.close(0); // so they stay queued
    const { body } = await batch({ tasks: Array.from({ length: 50 }, (_, i) => ({ kind: 'echo', input: { text: `d${i}` } })) });
    await c.master.close();
    const { Master } = await import('../../master/master.js');
    const { silentLogger } = await import('../../common/logger.js');
    const m2 = await Master.create({ bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, dataDir }, { logger: { logger: silentLogger() } });
    try {
      body.tasks.forEach((t, i) => expect(m2.tasks.get(t.id)).toMatchObject({ status: 'queued', input: { text: `d${i}` } }));
      expect(m2.tasks.queue.size).toBe(50);
    } finally {
      await m2.close();
    }
  });
});
