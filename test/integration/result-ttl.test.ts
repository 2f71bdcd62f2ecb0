/**
 * Results are kept for the result TTL (TASKWIRE_RESULT_TTL_MS), then pruned:
 * from memory and, with a data dir, from disk, so a restart does not bring
 * them back; their idempotency keys are free again. Unfinished tasks are never
 * pruned, however old.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { silentLogger } from '../../common/logger.js';
import { uniqueId, waitFor, waitForTask } from '../helpers/cluster.js';
import type { TaskView } from '../../common/task-view.js';

const log = { logger: silentLogger() };
const TTL_MS = 1000; // the smallest TTL the config allows; pruning runs every min(TTL, 60 s)

describe.each([
  ['memory store', false],
  ['SQLite store', true],
] as const)('result TTL (%s)', (_name, durable) => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function start(dataDir: string): Promise<{ master: Master; url: string }> {
    const master = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, masterId: uniqueId('m'), dataDir, resultTtlMs: TTL_MS },
      { logger: log },
    );
    cleanup.push(() => master.close());
    return { master, url: `http://127.0.0.1:${master.httpPort}` };
  }

  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, task: (await res.json()) as TaskView };
  };

  it('prunes finished tasks after the TTL (also from disk), frees their idempotency keys, keeps queued ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-ttl-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { master, url } = await start(durable ? dir : '');
    const worker = await Worker.create(
      { workerId: uniqueId('w'), mqttUrl: master.mqttUrl, mqttPassword: master.clusterToken, logToStdout: false, healthFile: join(dir, 'w.health') },
      { logger: log },
    );
    cleanup.push(() => worker.close(0));
    const done = await post(url, { kind: 'echo', input: { text: 'short-lived' }, idempotency_key: 'ttl-key' });
    expect(done.status).toBe(202);
    expect((await waitForTask(url, done.task.id)).result).toEqual({ text: 'short-lived' });
    // With the worker gone, this one stays queued past the TTL.
    await worker.close(0);
    const queued = await post(url, { kind: 'echo', input: { text: 'waits' } });
    expect(queued.status).toBe(202);

    await waitFor(async () => (await fetch(`${url}/api/v1/tasks/${done.task.id}`)).status === 404, 'the finished task to be pruned', 10_000, 100);
    // Past the TTL, the queued task is still there.
    const stillQueued = (await (await fetch(`${url}/api/v1/tasks/${queued.task.id}`)).json()) as TaskView;
    expect(stillQueued.status).toBe('queued');
    expect(Date.now() - Date.parse(stillQueued.created_at)).toBeGreaterThan(TTL_MS);
    // The key is free again: a new submit with it is a new task.
    const again = await post(url, { kind: 'echo', input: { text: 'again' }, idempotency_key: 'ttl-key' });
    expect(again.status).toBe(202);
    expect(again.task.id).not.toBe(done.task.id);

    if (durable) {
      await master.close();
      const { url: url2 } = await start(dir);
      expect((await fetch(`${url2}/api/v1/tasks/${done.task.id}`)).status).toBe(404);
      expect(((await (await fetch(`${url2}/api/v1/tasks/${queued.task.id}`)).json()) as TaskView).status).toBe('queued');
    }
  });
});
