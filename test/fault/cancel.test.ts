/**
 * Cancellation with real processes: a master and one worker of capacity 1.
 * A queued task is cancelled over REST and with the CLI (removed, never
 * assigned); a running one over REST and with the chat's stop button in
 * Chromium: the worker gets CANCEL, its handler stops, it reports
 * `cancelled` itself (the master's grace period is long, so only the
 * worker's report can end the task in time), and its one slot is free again:
 * the next task runs on it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import mqtt, { type MqttClient } from 'mqtt';
import { Topics } from '../../common/topics.js';
import { workerStatusCodec } from '../../common/wire.js';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { CHROMIUM_PATH, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { ProcessGroup, REPO_ROOT } from '../helpers/processes.js';
import {
  type MasterProcess,
  FAST_LEASES,
  getTask,
  postTask,
  printCounts,
  spawnWorker,
  startMasterProcess,
  tempDir,
  until,
  waitForWorkersOnline,
  workerReady,
} from './fault-cluster.js';

const WORKER = 'cx-0';
const TOKEN = 'fault-cancel-token';
/** Long on purpose: a running task that ends `cancelled` well before this was confirmed by its worker. */
const CANCEL_GRACE_MS = 60_000;
const WAIT_MS = 30_000;

describe('fault: cancellation of queued and running tasks (REST, CLI, browser)', () => {
  const group = new ProcessGroup();
  const tmp = tempDir('taskwire-fault-cancel-');
  let master: MasterProcess;
  let browser: TestBrowser | undefined;
  let observer: MqttClient | undefined;
  /** The worker's own running count, from its retained status (read-only anonymous MQTT view). */
  let workerRunningNow: number | undefined;

  beforeAll(async () => {
    master = await startMasterProcess(group, {
      dataDir: tmp.dir,
      clusterToken: TOKEN,
      env: { ...FAST_LEASES, TASKWIRE_CANCEL_GRACE_MS: String(CANCEL_GRACE_MS), TASKWIRE_MQTT_ANONYMOUS_READ: 'localhost' },
    });
    const topic = new Topics().workerStatus(WORKER);
    observer = await mqtt.connectAsync(master.mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
    observer.on('message', (t, payload) => {
      if (t === topic && payload.length > 0) workerRunningNow = workerStatusCodec.decode(payload).running;
    });
    await observer.subscribeAsync(topic, { qos: 1 });
    const w = spawnWorker(group, { id: WORKER, mqttUrl: master.mqttUrl, clusterToken: TOKEN, capacity: 1, dir: tmp.dir });
    await workerReady(w);
    await waitForWorkersOnline(master.httpUrl, [WORKER]);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await observer?.endAsync();
    await group.stopAll(3000);
    tmp.remove();
  }, 30_000);

  async function waitStatus(id: string, ok: (t: TaskView) => boolean, what: string): Promise<TaskView> {
    let last: TaskView | undefined;
    await until(async () => {
      last = await getTask(master.httpUrl, id);
      return !!last && ok(last);
    }, `task ${id} ${what} (last: ${last?.status})`, WAIT_MS);
    return last!;
  }

  const waitWorkerRunning = (n: number) => until(() => workerRunningNow === n, `the worker to report ${n} running (last: ${workerRunningNow})`, WAIT_MS, 20);

  async function submit(body: unknown): Promise<TaskView> {
    const t = await postTask(master.httpUrl, body);
    if (!t) throw new Error(`submit refused: ${JSON.stringify(body)}`);
    return t;
  }

  async function cancelRest(id: string): Promise<{ status: number; task: TaskView }> {
    const res = await fetch(`${master.httpUrl}/api/v1/tasks/${id}/cancel`, { method: 'POST' });
    return { status: res.status, task: (await res.json()) as TaskView };
  }

  it('REST and CLI: queued tasks are removed; a running one is stopped by its worker, whose slot is then free', async () => {
    const running = await submit({ kind: 'sleep', input: { ms: 120_000 } });
    await waitStatus(running.id, (t) => t.status === 'running', 'running');
    await waitWorkerRunning(1);
    const queuedRest = await submit({ kind: 'sleep', input: { ms: 1 } });
    const queuedCli = await submit({ kind: 'sleep', input: { ms: 1 } });
    // The worker's one slot is taken: both wait.
    expect((await getTask(master.httpUrl, queuedRest.id))?.status).toBe('queued');
    expect((await getTask(master.httpUrl, queuedCli.id))?.status).toBe('queued');

    // Queued, over REST: removed at once.
    const c1 = await cancelRest(queuedRest.id);
    expect(c1.status).toBe(202);
    expect(c1.task.status).toBe('cancelled');
    // Queued, with the CLI.
    const cli = group.taskwire('cancel-cli', ['cancel', queuedCli.id, '--url', master.httpUrl, '--json']);
    expect((await cli.waitForExit(WAIT_MS)).code, cli.output()).toBe(0);
    for (const id of [queuedRest.id, queuedCli.id]) {
      const t = (await getTask(master.httpUrl, id))!;
      expect(t.status).toBe('cancelled');
      expect(t.attempt).toBe(0); // never dispatched
      expect(t.history.map((h) => h.status)).toEqual(['queued', 'cancelled']);
    }

    // Running, over REST: the master sends CANCEL; the worker aborts the handler and reports it.
    const c2 = await cancelRest(running.id);
    expect(c2.status).toBe(202);
    expect(TERMINAL_STATUSES.has(c2.task.status)).toBe(false); // waits for the worker
    const stopped = await waitStatus(running.id, (t) => TERMINAL_STATUSES.has(t.status), 'final');
    expect(stopped.status).toBe('cancelled');
    expect(stopped.error?.code).toBe('CANCELLED');
    // The worker's report (the master's own fallback would say it "did not confirm the cancel").
    expect(stopped.error?.message).toBe('cancelled by user');
    expect(stopped.attempt).toBe(1);

    // Capacity freed: the worker itself says it runs nothing, and the next task runs on it.
    await waitWorkerRunning(0);
    const next = await submit({ kind: 'echo', input: { text: 'after the cancel' } });
    const after = await waitStatus(next.id, (t) => TERMINAL_STATUSES.has(t.status), 'final');
    expect(after.status).toBe('succeeded');
    expect(after.worker_id).toBe(WORKER);
    expect(after.result).toEqual({ text: 'after the cancel' });
    // The cancelled queued tasks never ran afterwards either.
    for (const id of [queuedRest.id, queuedCli.id]) expect((await getTask(master.httpUrl, id))?.attempt).toBe(0);

    printCounts('cancel-rest', {
      submitted: 4,
      succeeded: 1,
      lost: 0,
      duplicate_results: 0,
      cancelled_queued: 2,
      cancelled_running: 1,
      confirmed_by_worker: stopped.error?.message === 'cancelled by user' ? 1 : 0,
    });
  }, 90_000);

  it.skipIf(!existsSync(CHROMIUM_PATH) || !existsSync(join(REPO_ROOT, 'dist', 'web', 'index.html')))(
    'browser: the stop button cancels a running sleep; the worker is free for the next message',
    async () => {
      browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
      const { page, problems } = await browser.newPage();
      await page.goto(master.httpUrl);
      await page.locator('#connection[data-state="connected"]').waitFor();
      await page.locator('#kind option[value="sleep"]').waitFor({ state: 'attached' });

      const send = async (p: Page, kind: string, text: string) => {
        const before = await p.locator('.turn--answer').count();
        await p.locator('#kind').selectOption(kind);
        await p.locator('#message').fill(text);
        await p.locator('#message').press('Enter');
        const answer = p.locator('.turn--answer').nth(before);
        await answer.waitFor();
        return answer;
      };

      const answer = await send(page, 'sleep', '2 minutes');
      await answer.and(page.locator('[data-status="running"]')).waitFor();
      const id = (await answer.getAttribute('data-task-id'))!;
      expect((await getTask(master.httpUrl, id))?.worker_id).toBe(WORKER);
      await waitWorkerRunning(1);
      await answer.locator('.stop-button').click();
      await answer.and(page.locator('[data-status="cancelled"]')).waitFor();
      const t = await waitStatus(id, (v) => TERMINAL_STATUSES.has(v.status), 'final');
      expect(t.status).toBe('cancelled');
      expect(t.error?.message).toBe('cancelled by user'); // reported by the worker, not the master's fallback

      await waitWorkerRunning(0);
      const echo = await send(page, 'echo', 'free again');
      await echo.and(page.locator('[data-status="succeeded"]')).waitFor();
      const echoId = (await echo.getAttribute('data-task-id'))!;
      const e = (await getTask(master.httpUrl, echoId))!;
      expect(e.status).toBe('succeeded');
      expect(e.worker_id).toBe(WORKER);
      expect(problems.errors).toEqual([]);

      printCounts('cancel-browser', {
        submitted: 2,
        succeeded: 1,
        lost: 0,
        duplicate_results: 0,
        cancelled_running: 1,
        confirmed_by_worker: t.error?.message === 'cancelled by user' ? 1 : 0,
      });
    },
    120_000,
  );
});
