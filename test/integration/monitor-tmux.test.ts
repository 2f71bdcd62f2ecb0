/**
 * `taskwire monitor` in a real terminal: the built CLI runs in a tmux pane
 * against a real master and worker; the screen (tmux capture-pane) shows the
 * workers and a task count that changes as tasks run, a failure in the
 * recent failures, and `q` quits. The last screen is saved under
 * test-artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, TASKWIRE_CLI } from '../helpers/processes.js';
import { runTask, startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';

const socket = uniqueId('tw-tmux');
const session = 'monitor';
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session);
/** Waits until the screen satisfies `ok`; on a timeout the error shows the screen. */
async function waitScreen(ok: (s: string) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  let last = '';
  try {
    await waitFor(() => ok((last = alive() ? screen() : '(the pane is gone)')), what, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the screen:\n${last}`);
  }
}
const alive = () => {
  try {
    tmux('has-session', '-t', session);
    return true;
  } catch {
    return false;
  }
};

let c: TestCluster;
beforeAll(async () => {
  assertCliBuilt();
  c = await startCluster({ workers: 1 });
  await c.waitForWorkers(1);
}, 30_000);
afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  await c?.close();
});

describe('taskwire monitor in tmux', () => {
  it('shows workers and a live task count, lists a failure, and quits on q', async () => {
    const cmd = `env TASKWIRE_URL=${c.httpUrl} TASKWIRE_API_KEY= ${process.execPath} ${TASKWIRE_CLI} monitor --interval 200`;
    tmux('new-session', '-d', '-s', session, '-x', '140', '-y', '40', cmd);
    const workerId = c.workers[0]!.id;
    await waitScreen((s) => s.includes('tasks done 0') && s.includes(workerId.slice(0, 27)) && s.includes('● live'), 'the first frame');
    expect(screen()).toMatch(/workers 1 online/);

    for (let i = 0; i < 5; i++) await runTask(c.httpUrl, { kind: 'echo', input: { text: `monitor ${i}` } });
    await waitScreen((s) => s.includes('tasks done 5'), 'tasks done 5');

    const res = await fetch(`${c.httpUrl}/api/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'sleep', input: { ms: 10_000 }, timeout_ms: 200, max_attempts: 1 }),
    });
    const { id } = (await res.json()) as { id: string };
    // The run timeout ends it one of two ways, whichever comes first: the master expires the attempt,
    // or the worker's own deadline fails it with DEADLINE_EXCEEDED. Either is listed as a failure.
    await waitScreen((s) => s.split('\n').some((line) => line.includes(id) && /expired|DEADLINE_EXCEEDED/.test(line)), 'the failure listed');
    const last = screen();
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync(join('test-artifacts', 'monitor-tmux.txt'), last);
    expect(last).toMatch(/failed 1/);

    tmux('send-keys', '-t', session, 'q');
    await waitFor(() => !alive(), 'the monitor to quit on q', 5000, 100);
  }, 60_000);
});
