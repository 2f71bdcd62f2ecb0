/**
 * Every registered task metric moves when its event happens: real tasks run
 * through a real master and worker, /metrics is scraped before and after.
 */
import { promSamples } from '../helpers/prom-text.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { runTask, startCluster, waitFor, waitForTask, type TestCluster } from '../helpers/cluster.js';
import { TaskFailure, type TaskHandler } from '../../worker/handlers/task-handler.js';
import type { TaskView } from '../../common/task-view.js';

/** `name{labels}` -> value, for every sample line of the Prometheus text format. */
async function scrape(url: string): Promise<Map<string, number>> {
  return promSamples(await (await fetch(`${url}/metrics`)).text());
}

const failing: TaskHandler = {
  kind: 'llm',
  run: async () => {
    throw new TaskFailure('PROVIDER_AUTH', 'no provider key (test)');
  },
};

describe('metrics are recorded from the event stream, none dead', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 0 });
    await c.addWorker({ capacity: 1 }, { handlers: [failing] });
    await c.waitForWorkers(1);
  });
  afterAll(async () => {
    await c?.close();
  });

  it('task counters, both histograms, rejections, invalid messages and the gauges move', async () => {
    const before = await scrape(c.httpUrl);
    const get = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
    const delta = (after: Map<string, number>, k: string) => get(after, k) - get(before, k);

    for (let i = 0; i < 3; i++) expect((await runTask(c.httpUrl, { kind: 'echo', input: { text: `m${i}` } })).status).toBe('succeeded');
    expect((await runTask(c.httpUrl, { kind: 'llm', input: { messages: [{ role: 'user', content: 'hi' }] } })).status).toBe('failed');

    // A running task shows in the running gauge; one queued behind it expires; cancelling it counts as cancelled.
    const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'sleep', input: { ms: 60_000 } }) });
    const sleeping = (await res.json()) as TaskView;
    await waitFor(() => c.master.tasks.get(sleeping.id)?.status === 'running', 'sleep running');
    const during = await scrape(c.httpUrl);
    expect(get(during, 'taskwire_tasks_running')).toBe(1);
    expect(get(during, 'taskwire_workers{state="online"}')).toBe(1);
    expect(get(during, 'taskwire_workers{state="busy"}') + get(during, 'taskwire_workers{state="idle"}')).toBe(1);
    expect(during.has('taskwire_tasks_queued')).toBe(true);
    expect((await runTask(c.httpUrl, { kind: 'echo', input: { text: 'late' }, queue_timeout_ms: 300 })).status).toBe('expired');
    await fetch(`${c.httpUrl}/api/v1/tasks/${sleeping.id}/cancel`, { method: 'POST' });
    expect((await waitForTask(c.httpUrl, sleeping.id)).status).toBe('cancelled');

    // A forged result (wrong token) and a malformed Socket.IO submit.
    const forged = c.master.intake.handleEvent({ task_id: sleeping.id, attempt: 1, worker_id: 'nobody', result_token: 'forged', seq: 1, event: 'heartbeat' } as never);
    expect(forged.disposition).toBe('DISPOSITION_REJECTED');
    const socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false });
    try {
      const ack = await new Promise<{ ok: boolean }>((resolve) => socket.emit('task:submit', { kind: 42 } as never, resolve as never));
      expect(ack.ok).toBe(false);
    } finally {
      socket.close();
    }

    const after = await scrape(c.httpUrl);
    expect(delta(after, 'taskwire_tasks_submitted_total{kind="echo"}')).toBe(4);
    expect(delta(after, 'taskwire_tasks_submitted_total{kind="llm"}')).toBe(1);
    expect(delta(after, 'taskwire_tasks_submitted_total{kind="sleep"}')).toBe(1);
    expect(delta(after, 'taskwire_tasks_finished_total{kind="echo",status="succeeded"}')).toBe(3);
    expect(delta(after, 'taskwire_tasks_finished_total{kind="llm",status="failed"}')).toBe(1);
    expect(delta(after, 'taskwire_tasks_finished_total{kind="echo",status="expired"}')).toBe(1);
    expect(delta(after, 'taskwire_tasks_finished_total{kind="sleep",status="cancelled"}')).toBe(1);
    expect(delta(after, 'taskwire_task_queue_wait_seconds_count{kind="echo"}')).toBe(3);
    expect(delta(after, 'taskwire_task_run_seconds_count{kind="echo"}')).toBe(3);
    expect(delta(after, 'taskwire_task_run_seconds_count{kind="llm"}')).toBe(1);
    expect(delta(after, 'taskwire_task_queue_wait_seconds_sum{kind="echo"}')).toBeGreaterThanOrEqual(0);
    expect(delta(after, 'taskwire_results_rejected_total{reason="invalid_result_token"}')).toBe(1);
    expect(delta(after, 'taskwire_invalid_messages_total{boundary="socket.io"}')).toBe(1);
    expect(get(after, 'taskwire_tasks_running')).toBe(0);
    expect(get(after, 'taskwire_tasks_queued')).toBe(0);
  });
});
