/**
 * Orphaned local workers (issue 12): `kill -9` of `taskwire start` mid-run.
 * Its local worker processes must exit on their own (they watch their
 * master), and a `taskwire start` restarted on the same ports and data dir
 * must run its new workers without fighting leftovers: no offline flaps, and
 * every accepted task succeeds.
 * Spawns dist/cli/taskwire.js (npx tsc -p tsconfig.build.json first).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assertCliBuilt, waitForHttp } from '../helpers/processes.js';
import { FAST_LEASES, faultFixture, listWorkers, postTask, printCounts, settleTasks, sleep, until, waitForWorkersOnline } from './fault-cluster.js';
import { masterPortsEnv } from '../helpers/ports.js';

assertCliBuilt();
const { group, tmp } = faultFixture('taskwire-orphans-');

/** Pids whose parent is `ppid` (from /proc). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('fault: kill -9 of taskwire start', () => {
  it('local workers exit with their master; the restarted start does not flap; every accepted task succeeds', async () => {
    const { env: masterEnv, httpUrl } = await masterPortsEnv(tmp.dir);
    const env = { ...FAST_LEASES, ...masterEnv, TASKWIRE_LOCAL_WORKERS: '2' };
    const startOnce = async (name: string) => {
      const proc = group.taskwire(name, ['start'], { env, maxLines: 20_000 });
      await waitForHttp(`${httpUrl}/healthz`, { process: proc, timeoutMs: 30_000 });
      await until(async () => (await listWorkers(httpUrl).catch(() => [])).filter((w) => w.state === 'online').length >= 2, '2 local workers online', 30_000);
      return proc;
    };

    const first = await startOnce('start#1');
    const workerPids = childrenOf(first.pid);
    expect(workerPids.length).toBe(2);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = await postTask(httpUrl, { kind: 'sleep', input: { ms: 200 } });
      if (t) ids.push(t.id);
    }
    await first.kill9();
    await until(() => workerPids.every((p) => !alive(p)), 'the orphaned local workers to exit', 10_000);

    const second = await startOnce('start#2');
    const online = (await listWorkers(httpUrl)).filter((w) => w.state === 'online').map((w) => w.id);
    await waitForWorkersOnline(httpUrl, online);
    for (let i = 0; i < 20; i++) {
      const t = await postTask(httpUrl, { kind: 'sleep', input: { ms: 100 } });
      if (t) ids.push(t.id);
    }
    // watch for flaps: a worker seen offline (or gone) after the restart
    let flaps = 0;
    const watchUntil = Date.now() + 5000;
    while (Date.now() < watchUntil) {
      const ws = await listWorkers(httpUrl).catch(() => []);
      flaps += online.filter((id) => !ws.some((w) => w.id === id && w.state === 'online')).length;
      await sleep(200);
    }
    const views = await settleTasks(httpUrl, ids, 60_000);
    const succeeded = [...views.values()].filter((v) => v.status === 'succeeded').length;
    const line = printCounts('orphaned local workers', {
      submitted: ids.length,
      succeeded,
      lost: ids.length - views.size,
      duplicate_results: 0,
      orphans_left: workerPids.filter(alive).length,
      offline_flaps: flaps,
    });
    expect(ids.length, line).toBe(40);
    expect(succeeded, line).toBe(ids.length);
    expect(flaps, line).toBe(0);
    expect(second.running).toBe(true);
  }, 180_000);
});
