/**
 * Fault: `kill -9` of the master (a real process with a data dir) while a
 * client follows GET /api/v1/events under load. After a restart on the same
 * data dir and ports the client resumes with Last-Event-ID; it must then
 * have received every event the outbox holds after its first one exactly
 * once, in id order: missed = 0, duplicates = 0, and every id it saw before
 * the crash is still there after it (an event reaches a follower only once
 * committed).
 */
import { describe, expect, it } from 'vitest';
import { faultFixture, postTask, sleep, spawnWorker, startMasterProcess, until, waitForWorkersOnline, workerReady } from './fault-cluster.js';
import { readSse } from '../helpers/event-stream.js';

interface Seen {
  id: number;
  type: string;
  task_id?: string;
}

/** Follows the stream from `lastId`; resolves when the connection ends (the master died) or `stop` aborts it. */
async function followOnce(url: string, lastId: number, seen: Seen[], signal: AbortSignal): Promise<void> {
  const res = await fetch(`${url}/api/v1/events`, { headers: { 'last-event-id': String(lastId) }, signal });
  if (res.status !== 200 || !res.body) throw new Error(`status ${res.status}`);
  await readSse(res, (e) => seen.push({ id: e.id, type: e.data.type, task_id: e.data.task_id }));
}

describe('fault: kill -9 of the master while a client follows the event stream', () => {
  const { group, tmp } = faultFixture('taskwire-fault-events-');

  it('the resumed client gets every event after its last id exactly once: no gap, no duplicate', async () => {
    let master = await startMasterProcess(group, { name: 'master#1', dataDir: tmp.dir });
    const ports = { httpPort: master.httpPort, grpcPort: master.grpcPort, mqttPort: Number(new URL(master.mqttUrl).port) };
    const tokenCmd = group.taskwire('token', ['token', '--data-dir', tmp.dir]);
    expect((await tokenCmd.waitForExit(30_000)).code, tokenCmd.output()).toBe(0);
    const token = tokenCmd.lines.find((l) => l.stream === 'stdout' && l.text.trim())?.text.trim() ?? '';
    const ids = ['ev-0', 'ev-1'];
    const workers = ids.map((id) => spawnWorker(group, { id, mqttUrl: master.mqttUrl, clusterToken: token, capacity: 8, dir: tmp.dir }));
    await Promise.all(workers.map((w) => workerReady(w)));
    await waitForWorkersOnline(master.httpUrl, ids);
    const httpUrl = master.httpUrl;

    // The follower: from the beginning, resuming after each dropped connection from the last id it saw.
    const seen: Seen[] = [];
    const ac = new AbortController();
    let connections = 0;
    const follower = (async () => {
      while (!ac.signal.aborted) {
        connections++;
        await followOnce(httpUrl, seen.at(-1)?.id ?? 0, seen, ac.signal).catch(() => undefined);
        if (!ac.signal.aborted) await sleep(100);
      }
    })();

    // Load: short tasks submitted all along (failing while the master is down).
    let submitting = true;
    let accepted = 0;
    const submitters = Array.from({ length: 4 }, async (_, s) => {
      for (let i = 0; submitting; i++) {
        const t = await postTask(httpUrl, i % 3 === 0 ? { kind: 'sleep', input: { ms: 20 + (i % 50) } } : { kind: 'echo', input: { text: `load ${s}-${i}` } });
        if (t) accepted++;
        await sleep(t ? 5 : 100);
      }
    });

    await until(() => seen.length >= 400, '400 events followed', 60_000, 20);
    await master.proc.kill9();
    const seenAtCrash = seen.map((e) => e.id);
    await sleep(500);
    master = await startMasterProcess(group, { name: 'master#2', dataDir: tmp.dir, ...ports });
    await waitForWorkersOnline(master.httpUrl, ids, 30_000);
    const acceptedAtRestart = accepted;
    await until(() => accepted >= acceptedAtRestart + 200, '200 more accepted tasks', 60_000, 20);
    submitting = false;
    await Promise.all(submitters);
    // Let the last tasks finish and their events reach the follower.
    let stored: Seen[] = [];
    await until(
      async () => {
        const running = (await (await fetch(`${httpUrl}/api/v1/cluster`)).json()) as { queued: number; running: number };
        if (running.queued + running.running > 0) return false;
        stored = [];
        for (let since = 0; ; ) {
          const page = (await (await fetch(`${httpUrl}/api/v1/events?follow=false&since=${since}&limit=10000`)).json()) as { events: Seen[] };
          stored.push(...page.events.map((e) => ({ id: e.id, type: e.type, task_id: e.task_id })));
          if (page.events.length < 10_000) break;
          since = page.events.at(-1)!.id;
        }
        return stored.length > 0 && seen.at(-1)?.id === stored.at(-1)!.id;
      },
      'the follower to catch up with the outbox',
      60_000,
      200,
    );
    ac.abort();
    await follower;

    const seenIds = seen.map((e) => e.id);
    const duplicates = seenIds.length - new Set(seenIds).size;
    const storedIds = new Set(stored.map((e) => e.id));
    const first = seenIds[0]!;
    const missed = stored.filter((e) => e.id >= first && !seenIds.includes(e.id)).length;
    const lostAfterCrash = seenAtCrash.filter((id) => !storedIds.has(id)).length;
    const summary = { seen: seen.length, stored: stored.length, seenBeforeCrash: seenAtCrash.length, connections, missed, duplicates, lostAfterCrash };
    console.log(`event stream across kill -9: ${JSON.stringify(summary)}`);
    expect(connections, JSON.stringify(summary)).toBeGreaterThanOrEqual(2);
    expect(duplicates, JSON.stringify(summary)).toBe(0);
    expect(missed, JSON.stringify(summary)).toBe(0);
    expect(lostAfterCrash, JSON.stringify(summary)).toBe(0);
    expect([...seenIds].sort((a, b) => a - b)).toEqual(seenIds); // in order
    // The same events, not only the same ids.
    const byId = new Map(stored.map((e) => [e.id, e]));
    expect(seen.filter((e) => byId.get(e.id)?.type !== e.type || byId.get(e.id)?.task_id !== e.task_id)).toEqual([]);
    expect(seen.length).toBeGreaterThan(seenAtCrash.length);
  }, 180_000);
});
