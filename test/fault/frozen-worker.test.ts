/**
 * Fault: a worker that freezes (SIGSTOP) in the middle of tasks instead of
 * dying. Its TCP connections stay open, so there is no Last Will: only the
 * master's heartbeat lease can notice, re-dispatch its attempts elsewhere,
 * and, when the worker wakes up (SIGCONT) and reports its stale attempts,
 * fence them off. The user must still see exactly one answer per task.
 */
import { describe, expect, it } from 'vitest';
import {
  DoneRecorder,
  faultFixture,
  FAST_LEASES,
  metricValue,
  printCounts,
  settleTasks,
  sleep,
  spawnWorker,
  startMasterProcess,
  until,
  waitForWorkersOnline,
  workerReady,
} from './fault-cluster.js';

const TASKS = 60;
const TOKEN = 'fault-frozen-token';
const FROZEN = 'fz-0';
const HEALTHY = 'fz-1';

describe('fault: a worker frozen mid-task (SIGSTOP), then woken up (SIGCONT)', () => {
  let recorder: DoneRecorder | undefined;
  const { group, tmp } = faultFixture('taskwire-fault-frozen-', { before: () => recorder?.close() });

  it('the lease re-dispatches its tasks, its late results are fenced off, 0 lost, 0 duplicate results', async () => {
    // Heartbeat timeout 1.5 s, well inside the worker's MQTT keepalive (10 s): the lease is what notices.
    const master = await startMasterProcess(group, { dataDir: tmp.dir, clusterToken: TOKEN, env: { ...FAST_LEASES } });
    const [frozen, healthy] = [FROZEN, HEALTHY].map((id) => spawnWorker(group, { id, mqttUrl: master.mqttUrl, clusterToken: TOKEN, capacity: 4, dir: tmp.dir }));
    await Promise.all([workerReady(frozen!), workerReady(healthy!)]);
    await waitForWorkersOnline(master.httpUrl, [FROZEN, HEALTHY]);

    recorder = new DoneRecorder(master.httpUrl, `fault-frozen-${Date.now()}`);
    await recorder.ready();
    const accepted = new Map<string, string>();
    for (let i = 0; i < TASKS; i++) {
      const text = `frozen ${i} a b c`;
      const t = await recorder.submit('echo', { text, delay_ms: 100 }); // ~400 ms each
      accepted.set(t.id, text);
    }
    // Freeze the worker while it holds tasks.
    await until(
      async () => [...(await settleTasks(master.httpUrl, [...accepted.keys()], 0)).values()].some((v) => v.status === 'running' && v.worker_id === FROZEN),
      `a task running on ${FROZEN}`,
      30_000,
      20,
    );
    frozen!.signal('SIGSTOP');
    const rejectedBefore = await metricValue(master.httpUrl, 'taskwire_results_rejected_total');
    await until(() => [...accepted.keys()].every((id) => recorder!.done.has(id)), 'every task:done while the worker is frozen', 60_000, 100).catch(() => undefined);
    const doneWhileFrozen = [...accepted.keys()].filter((id) => recorder!.done.has(id)).length;

    // Wake it up: it reports attempts the master has already given to someone else.
    frozen!.signal('SIGCONT');
    await until(async () => (await metricValue(master.httpUrl, 'taskwire_results_rejected_total')) > rejectedBefore, 'stale results to be fenced off', 30_000);
    await sleep(2000); // its stale finals, if any were to get through, would arrive now
    const rejected = (await metricValue(master.httpUrl, 'taskwire_results_rejected_total')) - rejectedBefore;

    let succeeded = 0;
    let lost = 0;
    let duplicates = 0;
    let wrong = 0;
    let redispatched = 0;
    let reassignedToFrozen = 0;
    let leaseExpiries = 0;
    let lwtLosses = 0;
    const views = await settleTasks(master.httpUrl, [...accepted.keys()], 10_000);
    for (const [id, text] of accepted) {
      const events = recorder.done.get(id) ?? [];
      if (events.length === 0) {
        lost++;
        continue;
      }
      duplicates += events.length - 1;
      const t = events[0]!;
      const v = views.get(id);
      if (t.status === 'succeeded' && JSON.stringify(t.result) === JSON.stringify({ text }) && v?.status === 'succeeded' && v.attempt === t.attempt) succeeded++;
      else wrong++;
      if (t.attempt > 1) redispatched++;
      // Attempts the master gave to the frozen worker after it had already lost one there.
      const toFrozen = (v?.history ?? []).filter((h) => h.status === 'assigned' && h.worker_id === FROZEN).length;
      if (toFrozen > 1) reassignedToFrozen++;
      for (const h of v?.history ?? []) {
        if (/lost: no heartbeat/.test(h.reason ?? '')) leaseExpiries++;
        if (/lost \(connection lost\)/.test(h.reason ?? '')) lwtLosses++;
      }
    }

    const line = printCounts('frozen-worker', {
      submitted: accepted.size,
      succeeded,
      lost,
      duplicate_results: duplicates,
      wrong_results: wrong,
      done_while_frozen: doneWhileFrozen,
      redispatched_tasks: redispatched,
      tasks_reassigned_to_frozen_worker: reassignedToFrozen,
      attempts_ended_by_lease: leaseExpiries,
      attempts_ended_by_last_will: lwtLosses,
      fenced_results_rejected: rejected,
    });
    const detail = `${line}\n${group.dump(30)}`;
    expect(lost, detail).toBe(0);
    expect(duplicates, detail).toBe(0);
    expect(wrong, detail).toBe(0);
    expect(succeeded, detail).toBe(TASKS);
    expect(doneWhileFrozen, detail).toBe(TASKS); // the healthy worker finished everything without the frozen one
    expect(redispatched, detail).toBeGreaterThan(0);
    // The heartbeat lease noticed the silence (not only the MQTT keepalive's Last Will, 15 s later).
    expect(leaseExpiries, detail).toBeGreaterThan(0);
    expect(rejected, detail).toBeGreaterThan(0);
    expect(frozen!.running && healthy!.running, detail).toBe(true);
  }, 150_000);
});
