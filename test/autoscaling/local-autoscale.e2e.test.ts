/**
 * `taskwire start --autoscale` end to end with real processes: the master
 * forks worker processes as the load asks (1 → 3 → 1, three times), a
 * scale-down drains first (every task succeeds on its first attempt), the
 * CLI changes the policy and placement at run time (audited), and stopping
 * the master stops its autoscaled workers.
 * Spawns dist/cli/taskwire.js (npx tsc -p tsconfig.build.json first).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TASKWIRE_CLI, assertCliBuilt, waitForHttp } from '../helpers/processes.js';
import { faultFixture, listWorkers, postTask, settleTasks, until } from '../fault/fault-cluster.js';
import { masterPortsEnv } from '../helpers/ports.js';

assertCliBuilt();
const { group, tmp } = faultFixture('taskwire-autoscale-');
const run = promisify(execFile);

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

describe('taskwire start --autoscale', () => {
  it('forks and drains local worker processes with the load; the CLI changes the policy and placement', { timeout: 180_000 }, async () => {
    const { env: masterEnv, httpUrl } = await masterPortsEnv(tmp.dir);
    const env = { ...masterEnv, TASKWIRE_AUTOSCALE_INTERVAL_MS: '200', TASKWIRE_WORKER_CAPACITY: '2' };
    const master = group.taskwire('start', ['start', '--autoscale', '--min-workers', '1', '--max-workers', '3'], { env, maxLines: 20_000 });
    await waitForHttp(`${httpUrl}/healthz`, { process: master, timeoutMs: 30_000 });
    const online = async () => (await listWorkers(httpUrl).catch(() => [])).filter((w) => w.state === 'online').length;
    await until(async () => (await online()) === 1, 'the first autoscaled worker', 30_000);

    const cli = async (...args: string[]) => (await run(process.execPath, [TASKWIRE_CLI, ...args, '--url', httpUrl], { env: { PATH: process.env.PATH ?? '' } })).stdout;
    // A shorter scale-down window through the CLI (the rest of the policy as --autoscale set it).
    expect(await cli('autoscale', 'set', '*', '--actuator', 'local', '--min', '1', '--max', '3', '--target', '2', '--down-window', '1500')).toMatch(/autoscale \*: .*"max_workers":3/);
    expect(await cli('placement', 'set', 'sleep', 'least-connections')).toBe('placement sleep: null -> "least-connections"\n');
    const shown = JSON.parse(await cli('autoscale', 'show', '-o', 'json')) as { pools: { pool: string; actuator: string; policy: { scale_down_window_ms: number } }[] };
    expect(shown.pools).toEqual([expect.objectContaining({ pool: '*', actuator: 'local', policy: expect.objectContaining({ scale_down_window_ms: 1500 }) })]);

    const ids: string[] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      for (let i = 0; i < 20; i++) {
        const t = await postTask(httpUrl, { kind: 'sleep', input: { ms: 1000 } });
        if (t) ids.push(t.id);
      }
      await until(async () => (await online()) === 3, `cycle ${cycle}: 3 workers`, 60_000).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}\n${master.output(120)}`);
      });
      expect(childrenOf(master.pid).length).toBeGreaterThanOrEqual(3);
      await until(async () => (await online()) === 1 && childrenOf(master.pid).length === 1, `cycle ${cycle}: back to 1 worker process`, 60_000);
    }
    const done = await settleTasks(httpUrl, ids, 60_000);
    expect([...done.values()].filter((t) => t.status !== 'succeeded' || t.attempt !== 1).map((t) => `${t.id} ${t.status} attempt ${t.attempt}`)).toEqual([]);
    expect(ids.length).toBe(60);

    // Every decision and change is on the event stream.
    const events = (await (await fetch(`${httpUrl}/api/v1/events?follow=false&type=autoscale.decision,config.changed`)).json()) as { events: { type: string; from?: number; to?: number; target?: string }[] };
    const ups = events.events.filter((e) => e.type === 'autoscale.decision' && e.to! > e.from!);
    const downs = events.events.filter((e) => e.type === 'autoscale.decision' && e.to! < e.from!);
    expect(ups.length).toBeGreaterThanOrEqual(3);
    expect(ups.length).toBeLessThanOrEqual(7);
    expect(downs.length).toBeLessThanOrEqual(6);
    expect(events.events.filter((e) => e.type === 'config.changed').map((e) => e.target)).toEqual(['autoscaling', 'placement']);

    const pids = childrenOf(master.pid);
    await master.stop(15_000);
    await until(() => pids.every((p) => { try { process.kill(p, 0); return false; } catch { return true; } }), 'the autoscaled workers to stop with the master', 15_000);
  });
});
