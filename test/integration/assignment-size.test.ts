/**
 * A dispatch round's assignments for one worker go out in messages each
 * within the MQTT payload limit every worker enforces (4 MiB): eight queued
 * tasks of ~1 MiB input given to one idle worker of capacity 8 all run.
 * Before, they went out as one ~8 MiB message the worker dropped whole, and
 * every task in it ended HEARTBEAT_TIMEOUT (the payload flood's lost tasks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MQTT_PAYLOAD_BYTES } from '../../common/wire.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

let c: TestCluster;

beforeAll(async () => {
  // One attempt and a short heartbeat timeout: a dropped assignment fails the task fast.
  c = await startCluster({ workers: 0, master: { maxAttempts: 1, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 5000 } });
});

afterAll(async () => {
  await c?.close();
});

describe('assignments larger together than one MQTT message', () => {
  it('are split by bytes, in order, and every task runs', async () => {
    const text = 'y'.repeat(1024 * 1024 - 1024);
    const out = await c.master.tasks.submitMany(Array.from({ length: 8 }, (_, i) => ({ kind: 'echo', input: { text: `${i}${text}` } })));
    const ids = out.map((o) => o.task.id);
    expect(8 * text.length).toBeGreaterThan(MAX_MQTT_PAYLOAD_BYTES);
    await c.addWorker({ capacity: 8 }); // one dispatch round matches all eight to it
    await waitFor(() => ids.every((id) => ['succeeded', 'failed', 'expired', 'cancelled'].includes(c.master.tasks.get(id)?.status ?? '')), 'all tasks final', 60_000, 50);
    const tasks = ids.map((id) => c.master.tasks.get(id)!);
    expect(tasks.map((t) => `${t.status}:${t.error?.code ?? ''}`)).toEqual(Array(8).fill('succeeded:'));
    expect(tasks.map((t) => t.attempt)).toEqual(Array(8).fill(1));
    expect((tasks[3]!.result as { text: string }).text.startsWith('3y')).toBe(true);
  }, 90_000);
});
