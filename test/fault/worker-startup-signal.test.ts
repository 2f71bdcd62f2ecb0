/**
 * A SIGTERM that reaches `taskwire worker` after it announced ONLINE (and
 * was given a task) but before its startup finished is a graceful stop like
 * any other: the running attempt is handed back (WORKER_SHUTDOWN, retried
 * elsewhere), the worker publishes its own OFFLINE and exits 0. Before, the
 * CLI installed its signal handlers only once startup returned, so such a
 * SIGTERM killed the process: the broker published the Last Will and the
 * attempt waited out its lease (seen as a conformance failure under load).
 *
 * The window is held open for the test by a FIFO as the health file: the
 * worker's first health write (the last step of its startup) blocks until
 * the test opens the FIFO for reading.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../common/task-view.js';
import { startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup } from '../helpers/processes.js';

describe('a SIGTERM during the worker CLI startup', () => {
  let cluster: TestCluster | undefined;
  const group = new ProcessGroup();
  let dir: string | undefined;
  afterEach(async () => {
    await group.stopAll(2000);
    await cluster?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hands back the running attempt, publishes OFFLINE "shutdown" and exits 0', { timeout: 60_000 }, async () => {
    cluster = await startCluster({ workers: 0 });
    dir = mkdtempSync(join(tmpdir(), 'taskwire-startup-signal-'));
    const fifo = join(dir, 'health');
    execFileSync('mkfifo', [fifo]);
    const id = uniqueId('w');
    const w = group.taskwire(id, ['worker'], {
      env: {
        TASKWIRE_WORKER_ID: id,
        TASKWIRE_MQTT_URL: cluster.mqttUrl,
        TASKWIRE_CLUSTER_TOKEN: cluster.master.clusterToken,
        TASKWIRE_WORKER_KINDS: 'echo,sleep',
        TASKWIRE_WORKER_CAPACITY: '2',
        TASKWIRE_SHUTDOWN_GRACE_MS: '300',
        TASKWIRE_HEALTH_FILE: fifo,
      },
    });
    // ONLINE on MQTT (the master schedules it), while its startup still waits on the health file.
    await waitFor(() => cluster!.master.registry.schedulable().some((x) => x.id === id), 'the worker ONLINE', 30_000);
    expect(w.lines.some((l) => /"msg":"worker online"/.test(l.text))).toBe(false);
    const res = await fetch(`${cluster.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'sleep', input: { ms: 60_000 } }) });
    const { id: taskId } = (await res.json()) as { id: string };
    const view = async () => (await (await fetch(`${cluster!.httpUrl}/api/v1/tasks/${taskId}`)).json()) as TaskView & { history: { status: string; error?: { code: string } | null }[] };
    await waitFor(async () => (await view()).status === 'running', 'the task running on the still-starting worker', 20_000);
    expect(w.exit).toBeUndefined();

    w.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200)); // the signal lands while startup still waits on the health file
    createReadStream(fifo).resume(); // startup finishes
    const exit = await Promise.race([w.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
    expect(exit, group.dump()).toEqual({ code: 0, signal: null });

    // Handed back, not left to its lease: queued again (no other worker) after a WORKER_SHUTDOWN attempt.
    const t = await waitFor(async () => {
      const v = await view();
      return v.status === 'queued' && v.attempt >= 1 ? v : undefined;
    }, 'the task back in the queue', 10_000);
    expect(JSON.stringify(t.history)).toContain('WORKER_SHUTDOWN');
    const workers = (await (await fetch(`${cluster.httpUrl}/api/v1/workers/${id}`)).json()) as { state: string; reason?: string };
    expect(workers.state).toBe('offline');
  });
});
