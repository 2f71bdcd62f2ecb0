/**
 * Fault: `kill -9` of workers in the middle of tasks, over and over, during a
 * run of 2,000 tasks submitted through one Socket.IO session. Replacements
 * come back half the time with the killed worker's id and half the time with
 * a new one. The user must see every task succeed exactly once with the
 * right result, and the master's attempt counts must show re-dispatches.
 */
import { describe, expect, it } from 'vitest';
import type { TaskView } from '../../common/task-view.js';
import type { ManagedProcess } from '../helpers/processes.js';
import {
  DoneRecorder,
  faultFixture,
  FAST_LEASES,
  metricValue,
  printCounts,
  rng,
  settleTasks,
  sleep,
  spawnWorker,
  startMasterProcess,
  until,
  waitForWorkersOnline,
  workerReady,
} from './fault-cluster.js';

const TASKS = 2000;
const WORKERS = 4;
const CAPACITY = 8;
const SEED = 0x5eed_2026;
const TOKEN = 'fault-kill-workers-token';

interface LiveWorker {
  id: string;
  proc: ManagedProcess;
  ready: boolean;
}

describe('fault: kill -9 of workers mid-task', () => {
  let recorder: DoneRecorder | undefined;
  const { group, tmp } = faultFixture('taskwire-fault-kill-', { before: () => recorder?.close() });

  it(`${TASKS} tasks, workers killed every few hundred ms: 0 lost, 0 duplicate results, re-dispatches happened`, async () => {
    const master = await startMasterProcess(group, { dataDir: tmp.dir, clusterToken: TOKEN, env: { ...FAST_LEASES } });
    const workers: LiveWorker[] = [];
    let newIds = 0;
    const launch = (id: string): LiveWorker => {
      const w: LiveWorker = { id, proc: spawnWorker(group, { id, mqttUrl: master.mqttUrl, clusterToken: TOKEN, capacity: CAPACITY, dir: tmp.dir }, `${id}#${group.processes.length}`), ready: false };
      workerReady(w.proc).then(
        () => (w.ready = true),
        () => undefined, // killed before it was ready: the chaos loop's business
      );
      workers.push(w);
      return w;
    };
    for (let i = 0; i < WORKERS; i++) launch(`kw-${i}`);
    await Promise.all(workers.map((w) => workerReady(w.proc)));
    await waitForWorkersOnline(master.httpUrl, workers.map((w) => w.id));

    recorder = new DoneRecorder(master.httpUrl, `fault-kill-${Date.now()}`);
    await recorder.ready();

    // Chaos: every 200-500 ms kill -9 a ready worker (only while at least two are
    // ready, so the run keeps moving) and start a replacement: same id or a new one.
    const random = rng(SEED);
    const chaos = { kills: 0, sameId: 0, newId: 0, stop: false };
    const chaosLoop = (async () => {
      while (!chaos.stop) {
        await sleep(200 + Math.floor(random() * 300));
        if (chaos.stop) break;
        const ready = workers.filter((w) => w.ready && w.proc.running);
        if (ready.length < 2) continue;
        const victim = ready[Math.floor(random() * ready.length)]!;
        workers.splice(workers.indexOf(victim), 1);
        await victim.proc.kill9();
        chaos.kills++;
        if (chaos.kills % 2 === 1) {
          chaos.sameId++;
          launch(victim.id);
        } else {
          chaos.newId++;
          launch(`kw-new-${++newIds}`);
        }
      }
    })();

    // Submit 2,000 echo tasks, about 120 ms of work each (5 words, 30 ms apart), at a
    // steady pace with a bounded number of unacknowledged submits.
    const accepted = new Map<string, string>(); // id -> expected text
    const refused: string[] = [];
    const outstanding = new Set<Promise<void>>();
    for (let i = 0; i < TASKS; i++) {
      const text = `task ${i} alpha beta gamma`;
      const p = recorder.submit('echo', { text, delay_ms: 30 }).then(
        (t) => void accepted.set(t.id, text),
        (err: Error) => void refused.push(err.message),
      );
      outstanding.add(p);
      void p.finally(() => outstanding.delete(p));
      if (outstanding.size >= 64) await Promise.race(outstanding);
      if (i % 2 === 1) await sleep(8);
    }
    await Promise.all(outstanding);
    expect(refused, 'submits refused').toEqual([]);

    // Keep killing while the backlog drains, then let the cluster finish in peace.
    const done = () => [...accepted.keys()].filter((id) => recorder!.done.has(id)).length;
    await until(() => done() >= accepted.size * 0.9, '90% of the tasks to finish under chaos', 120_000, 100).catch(() => undefined);
    chaos.stop = true;
    await chaosLoop;
    await until(() => workers.filter((w) => w.ready && w.proc.running).length >= 2, 'two live workers', 30_000);
    await until(() => done() >= accepted.size, 'every task:done', 90_000, 100).catch(() => undefined);
    // Late duplicates, if any, would come now.
    await sleep(1500);

    // What the user saw on the session.
    let succeeded = 0;
    let lost = 0;
    let duplicates = 0;
    let wrong = 0;
    let redispatched = 0;
    let maxAttempt = 0;
    const lostIds: string[] = [];
    for (const [id, text] of accepted) {
      const events = recorder.done.get(id) ?? [];
      if (events.length === 0) {
        lost++;
        lostIds.push(id);
        continue;
      }
      duplicates += events.length - 1;
      const t = events[0]!;
      if (t.status === 'succeeded' && JSON.stringify(t.result) === JSON.stringify({ text })) succeeded++;
      else wrong++;
      if (t.attempt > 1) redispatched++;
      maxAttempt = Math.max(maxAttempt, t.attempt);
    }
    // The master's own view of every task agrees (status, result, attempt).
    const views = await settleTasks(master.httpUrl, [...accepted.keys()], lost > 0 ? 10_000 : 1000);
    let restDisagrees = 0;
    for (const [id, text] of accepted) {
      const v: TaskView | undefined = views.get(id);
      const seen = recorder.done.get(id)?.[0];
      if (!v || v.status !== 'succeeded' || JSON.stringify(v.result) !== JSON.stringify({ text }) || (seen && seen.attempt !== v.attempt)) restDisagrees++;
    }
    const rejected = await metricValue(master.httpUrl, 'taskwire_results_rejected_total');

    const line = printCounts('kill-workers', {
      submitted: accepted.size,
      succeeded,
      lost,
      duplicate_results: duplicates,
      wrong_results: wrong,
      rest_disagrees: restDisagrees,
      redispatched_tasks: redispatched,
      max_attempt: maxAttempt,
      kills: chaos.kills,
      restarts_same_id: chaos.sameId,
      restarts_new_id: chaos.newId,
      fenced_results_rejected: rejected,
      socket_connects: recorder.connects,
    });
    const detail = `${line}\nlost ids: ${lostIds.slice(0, 10).join(', ')}\n${group.dump(40)}`;
    expect(accepted.size, detail).toBe(TASKS);
    expect(lost, detail).toBe(0);
    expect(duplicates, detail).toBe(0);
    expect(wrong, detail).toBe(0);
    expect(succeeded, detail).toBe(TASKS);
    expect(restDisagrees, detail).toBe(0);
    expect(chaos.kills, detail).toBeGreaterThanOrEqual(5);
    expect(chaos.sameId, detail).toBeGreaterThan(0);
    expect(chaos.newId, detail).toBeGreaterThan(0);
    expect(redispatched, detail).toBeGreaterThan(0);
    expect(master.proc.running, detail).toBe(true);
  }, 170_000);
});
