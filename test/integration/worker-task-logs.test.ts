/**
 * Issue 14: a TypeScript worker logs each attempt's start and end at info with
 * its task id, so the master keeps both lines with the task
 * (GET /api/v1/logs?task=ID). Real master, real worker, its log lines over
 * MQTT: a task that succeeds, one that fails, one cancelled, one past its run
 * timeout, and a retried one (a start and an end per attempt). A worker at
 * warn logs none of them. The same lines from the other workers of the repo
 * that ship their logs on MQTT, each a real process (skipped where its
 * runtime is missing).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../common/task-view.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import { runTask, startCluster, uniqueId, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup } from '../helpers/processes.js';
import { prepareImplementation, workerImplementations } from '../conformance/worker-implementations.js';

interface Line {
  level: string;
  source: string;
  worker_id: string | null;
  task_id: string | null;
  msg: string;
}

async function taskLines(c: TestCluster, taskId: string): Promise<Line[]> {
  const res = await fetch(`${c.httpUrl}/api/v1/logs?task=${taskId}&after=0`); // oldest first
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { logs: Line[] }).logs;
}

/** Fails its first attempt retryably (PROVIDER_UNAVAILABLE), then for good (BAD_INPUT). */
function failingHandler(): TaskHandler {
  return {
    kind: 'fails',
    run: async (ctx) => {
      if (ctx.attempt === 1) throw new TaskFailure('PROVIDER_UNAVAILABLE', 'first attempt fails (test)', { retryable: true });
      throw new TaskFailure('BAD_INPUT', 'fails for good (test)');
    },
  };
}

async function submit(c: TestCluster, body: unknown): Promise<string> {
  const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as TaskView).id;
}

describe('worker task start and end lines (issue 14)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function cluster(level?: 'info' | 'warn'): Promise<{ c: TestCluster; workerId: string }> {
    const c = await startCluster({ workers: 0, master: { retryBaseMs: 10 } });
    cleanup.push(() => c.close());
    const workerId = uniqueId('tlogw');
    // No logger given: the worker makes its own as the CLI does, at its logLevel (TASKWIRE_LOG_LEVEL; default info), shipped on MQTT.
    await c.addWorker({ workerId, capacity: 2, ...(level && { logLevel: level }) }, { handlers: [failingHandler()], logger: undefined });
    await c.waitForWorkers(1);
    return { c, workerId };
  }

  it('keeps each attempt\'s start and end with the task: succeeded, failed (with its code), cancelled, timeout, one pair per attempt', async () => {
    const { c, workerId } = await cluster();

    const ok = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'hello lines' } });
    expect(ok.status).toBe('succeeded');
    const okLines = await waitFor(async () => {
      const l = await taskLines(c, ok.id);
      return l.length >= 2 ? l : undefined;
    }, 'the echo task\'s two lines');
    expect(okLines).toHaveLength(2);
    expect(okLines.map((l) => l.msg)).toEqual(['task started: kind=echo attempt=1', expect.stringMatching(/^task ended: outcome=succeeded kind=echo attempt=1 duration_ms=\d+$/)]);
    for (const l of okLines) expect(l).toMatchObject({ level: 'info', source: workerId, worker_id: workerId, task_id: ok.id });

    // Two attempts: a retryable failure, then a final one; each attempt has its start and its end with the code.
    const failed = await runTask(c.httpUrl, { kind: 'fails', input: {}, max_attempts: 2 });
    expect(failed.status).toBe('failed');
    const failedLines = await waitFor(async () => {
      const l = await taskLines(c, failed.id);
      return l.length >= 4 ? l : undefined;
    }, 'the failing task\'s four lines');
    expect(failedLines.map((l) => l.msg)).toEqual([
      'task started: kind=fails attempt=1',
      expect.stringMatching(/^task ended: outcome=failed code=PROVIDER_UNAVAILABLE kind=fails attempt=1 duration_ms=\d+$/),
      'task started: kind=fails attempt=2',
      expect.stringMatching(/^task ended: outcome=failed code=BAD_INPUT kind=fails attempt=2 duration_ms=\d+$/),
    ]);
    // The failure's message (free text that could hold anything) is not in the lines, only its code.
    expect(failedLines.some((l) => l.msg.includes('for good'))).toBe(false);

    // Cancelled while running.
    const sleeping = await submit(c, { kind: 'sleep', input: { ms: 60_000 } });
    await waitFor(() => c.master.tasks.get(sleeping)?.status === 'running', 'sleep running');
    await fetch(`${c.httpUrl}/api/v1/tasks/${sleeping}/cancel`, { method: 'POST' });
    expect((await waitForTask(c.httpUrl, sleeping)).status).toBe('cancelled');
    const cancelled = await waitFor(async () => (await taskLines(c, sleeping)).find((l) => l.msg.startsWith('task ended')), 'the cancelled end line');
    expect(cancelled.msg).toMatch(/^task ended: outcome=cancelled code=CANCELLED kind=sleep attempt=1 duration_ms=\d+$/);

    // Past its run timeout: the worker's own deadline or the master's CANCEL at that deadline, a timeout either way.
    const slow = await runTask(c.httpUrl, { kind: 'sleep', input: { ms: 60_000 }, timeout_ms: 300, max_attempts: 1 });
    // The task ends expired (the master's RUN_TIMEOUT) or failed (the worker's DEADLINE_EXCEEDED final came first).
    expect(['expired', 'failed']).toContain(slow.status);
    const timedOut = await waitFor(async () => (await taskLines(c, slow.id)).find((l) => l.msg.startsWith('task ended')), 'the timed-out end line');
    expect(timedOut.msg).toMatch(/^task ended: outcome=timeout code=(DEADLINE_EXCEEDED|CANCELLED) kind=sleep attempt=1 duration_ms=\d+$/);
    expect(Number(/duration_ms=(\d+)/.exec(timedOut.msg)![1])).toBeGreaterThanOrEqual(250);
  });

  it('writes none of them when the worker\'s log level is warn', async () => {
    const { c, workerId } = await cluster('warn');
    const ok = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'quiet' } });
    expect(ok.status).toBe('succeeded');
    const failed = await runTask(c.httpUrl, { kind: 'fails', input: {}, max_attempts: 1 });
    expect(failed.status).toBe('failed');
    // A warn line of the same worker after the tasks: once it is kept, any task line would have been too.
    c.workers[0]!.log.warn({ task_id: ok.id }, 'marker after the tasks');
    await waitFor(async () => (await taskLines(c, ok.id)).some((l) => l.msg === 'marker after the tasks'), 'the marker line');
    expect((await taskLines(c, ok.id)).map((l) => l.msg)).toEqual(['marker after the tasks']);
    expect(await taskLines(c, failed.id)).toEqual([]);
    expect((await taskLines(c, ok.id))[0]!.worker_id).toBe(workerId);
  });
});

/** The other workers that write these lines (each ships its log lines on `{root}/logs/{worker id}`). */
const OTHER_WORKERS = workerImplementations().filter((impl) => ['python', 'go', 'java'].includes(impl.language));

describe.each(OTHER_WORKERS)('the $language worker\'s task start and end lines (issue 14)', (impl) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function spawnWorker(c: TestCluster, group: ProcessGroup, env: Record<string, string> = {}): Promise<string> {
    const id = uniqueId(`tlog-${impl.language}`);
    const p = group.spawn(id, '/bin/sh', ['-c', impl.command], {
      env: {
        TASKWIRE_MQTT_URL: c.mqttUrl,
        TASKWIRE_CLUSTER_TOKEN: c.master.clusterToken,
        TASKWIRE_GRPC_URL: `127.0.0.1:${c.grpcPort}`,
        TASKWIRE_WORKER_ID: id,
        TASKWIRE_WORKER_CAPACITY: '2',
        TASKWIRE_SHUTDOWN_GRACE_MS: '500',
        TASKWIRE_HEALTH_FILE: join(tmpdir(), `${id}.health`),
        ...env,
      },
    });
    await waitFor(() => {
      if (!p.running) throw new Error(`the ${impl.language} worker exited: ${JSON.stringify(p.exit)}\n${p.output()}`);
      return c.master.registry.get(id)?.state === 'online';
    }, `the ${impl.language} worker online`, 60_000, 20);
    return id;
  }

  async function endLine(c: TestCluster, taskId: string): Promise<Line> {
    return waitFor(async () => (await taskLines(c, taskId)).find((l) => l.msg.startsWith('task ended')), `the end line of ${taskId}`);
  }

  it.skipIf(impl.missing !== undefined)(`keeps each attempt's start and end: succeeded, cancelled, timeout${impl.missing ? ` (skipped: ${impl.missing})` : ''}`, async () => {
    prepareImplementation(impl);
    const c = await startCluster({ workers: 0 });
    cleanup.push(() => c.close());
    const group = new ProcessGroup();
    cleanup.push(() => group.stopAll());
    const workerId = await spawnWorker(c, group);

    const ok = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'hello lines' } });
    expect(ok.status).toBe('succeeded');
    await endLine(c, ok.id);
    const okLines = await taskLines(c, ok.id);
    expect(okLines.map((l) => l.msg)).toEqual(['task started: kind=echo attempt=1', expect.stringMatching(/^task ended: outcome=succeeded kind=echo attempt=1 duration_ms=\d+$/)]);
    for (const l of okLines) expect(l).toMatchObject({ level: 'info', source: workerId, worker_id: workerId, task_id: ok.id });

    const sleeping = await submit(c, { kind: 'sleep', input: { ms: 60_000 } });
    await waitFor(() => c.master.tasks.get(sleeping)?.status === 'running', 'sleep running');
    await fetch(`${c.httpUrl}/api/v1/tasks/${sleeping}/cancel`, { method: 'POST' });
    expect((await waitForTask(c.httpUrl, sleeping)).status).toBe('cancelled');
    expect((await endLine(c, sleeping)).msg).toMatch(/^task ended: outcome=cancelled code=CANCELLED kind=sleep attempt=1 duration_ms=\d+$/);

    const slow = await runTask(c.httpUrl, { kind: 'sleep', input: { ms: 60_000 }, timeout_ms: 300, max_attempts: 1 });
    expect(['expired', 'failed']).toContain(slow.status);
    expect((await endLine(c, slow.id)).msg).toMatch(/^task ended: outcome=timeout code=(DEADLINE_EXCEEDED|CANCELLED) kind=sleep attempt=1 duration_ms=\d+$/);
    expect((await taskLines(c, slow.id))[0]!.msg).toBe('task started: kind=sleep attempt=1');
  }, 120_000);
});
