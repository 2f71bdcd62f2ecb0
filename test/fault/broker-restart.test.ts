/**
 * Fault: an external Mosquitto restarts (stop, a moment of outage, start on
 * the same port, persistence off: every session, subscription and retained
 * status is gone) in the middle of a stream of tasks. The master and the
 * workers (real processes) must reconnect by themselves, nothing submitted
 * or assigned around the outage may be lost, and tasks submitted after the
 * restart must complete too.
 */
import { describe, expect, it } from 'vitest';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import {
  DoneRecorder,
  faultFixture,
  FAST_LEASES,
  printCounts,
  settleTasks,
  sleep,
  spawnWorker,
  startMasterProcess,
  until,
  waitForWorkersOnline,
  workerReady,
} from './fault-cluster.js';

const BEFORE = 300; // submitted before the broker goes down
const DURING = 150; // submitted while it is down (the master queues and assigns them)
const AFTER = 150; // submitted once everything is back
const OUTAGE_MS = 1500;
const WORKER_IDS = ['br-0', 'br-1', 'br-2'];

describe.skipIf(!mosquittoAvailable())('fault: external Mosquitto restarts mid-run', () => {
  let broker: Mosquitto | undefined;
  let recorder: DoneRecorder | undefined;
  const { group, tmp } = faultFixture('taskwire-fault-broker-', { before: () => recorder?.close(), after: () => broker?.close() });

  it('0 lost, 0 duplicate results; master and workers reconnect on their own; new tasks complete', async () => {
    broker = await Mosquitto.start();
    const master = await startMasterProcess(group, { dataDir: tmp.dir, mqttUrl: broker.url, env: { ...FAST_LEASES } });
    const workers = WORKER_IDS.map((id) => spawnWorker(group, { id, mqttUrl: broker!.url, capacity: 8, dir: tmp.dir }));
    await Promise.all(workers.map((w) => workerReady(w)));
    await waitForWorkersOnline(master.httpUrl, WORKER_IDS);
    const pids = workers.map((w) => w.pid);

    recorder = new DoneRecorder(master.httpUrl, `fault-broker-${Date.now()}`);
    await recorder.ready();
    const accepted = new Map<string, { text: string; phase: 'before' | 'during' | 'after' }>();
    const refused: string[] = [];
    const submit = async (n: number, phase: 'before' | 'during' | 'after', paceMs: number) => {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const text = `${phase} ${i} one two three`;
        pending.push(
          recorder!.submit('echo', { text, delay_ms: 30 }).then(
            (t) => void accepted.set(t.id, { text, phase }),
            (err: Error) => void refused.push(err.message),
          ),
        );
        await sleep(paceMs);
      }
      await Promise.all(pending);
    };

    // A stream of tasks; the broker goes away in the middle of it.
    const firstWave = submit(BEFORE, 'before', 10);
    await until(() => accepted.size >= BEFORE * 0.6, 'the first wave to be under way', 30_000, 20);
    await broker.stop();
    const outage = submit(DURING, 'during', OUTAGE_MS / DURING);
    await sleep(OUTAGE_MS);
    await broker.restart();
    await Promise.all([firstWave, outage]);

    // Nobody restarts anything: the master and the same worker processes come back by themselves.
    await until(
      async () => (await fetch(`${master.httpUrl}/healthz`).then((r) => r.status).catch(() => 0)) === 200,
      'the master to reconnect to the broker',
      30_000,
    );
    await waitForWorkersOnline(master.httpUrl, WORKER_IDS);
    const brokerLog = broker.output();
    const reconnected = ['master', ...WORKER_IDS].filter((id) => {
      const re = id === 'master' ? /New client connected from \S+ as master-/g : new RegExp(`New client connected from \\S+ as ${id} `, 'g');
      return (brokerLog.match(re) ?? []).length >= 2;
    });

    await submit(AFTER, 'after', 5);
    await until(() => [...accepted.keys()].every((id) => recorder!.done.has(id)), 'every task:done', 60_000, 100).catch(() => undefined);
    await sleep(1000); // late duplicates, if any, would arrive now

    let succeeded = 0;
    let lost = 0;
    let duplicates = 0;
    let wrong = 0;
    let redispatched = 0;
    const afterSucceeded = { n: 0 };
    for (const [id, { text, phase }] of accepted) {
      const events = recorder.done.get(id) ?? [];
      if (events.length === 0) {
        lost++;
        continue;
      }
      duplicates += events.length - 1;
      const t = events[0]!;
      if (t.status === 'succeeded' && JSON.stringify(t.result) === JSON.stringify({ text })) {
        succeeded++;
        if (phase === 'after') afterSucceeded.n++;
      } else wrong++;
      if (t.attempt > 1) redispatched++;
    }
    const views = await settleTasks(master.httpUrl, [...accepted.keys()], lost > 0 ? 10_000 : 1000);
    const restNotSucceeded = [...accepted.keys()].filter((id) => views.get(id)?.status !== 'succeeded').length;

    const line = printCounts('broker-restart', {
      submitted: accepted.size,
      succeeded,
      lost,
      duplicate_results: duplicates,
      wrong_results: wrong,
      submitted_during_outage: [...accepted.values()].filter((a) => a.phase === 'during').length,
      submitted_after_restart: [...accepted.values()].filter((a) => a.phase === 'after').length,
      succeeded_after_restart: afterSucceeded.n,
      redispatched_tasks: redispatched,
      rest_not_succeeded: restNotSucceeded,
      clients_reconnected: `${reconnected.length}/${WORKER_IDS.length + 1}`,
    });
    const detail = `${line}\n${group.dump(40)}\n--- broker ---\n${brokerLog.slice(-3000)}`;
    expect(refused, detail).toEqual([]);
    expect(accepted.size, detail).toBe(BEFORE + DURING + AFTER);
    expect(lost, detail).toBe(0);
    expect(duplicates, detail).toBe(0);
    expect(wrong, detail).toBe(0);
    expect(succeeded, detail).toBe(accepted.size);
    expect(afterSucceeded.n, detail).toBe(AFTER);
    expect(restNotSucceeded, detail).toBe(0);
    expect(reconnected, detail).toEqual(['master', ...WORKER_IDS]);
    // The same processes throughout: nothing was restarted for them.
    expect(workers.map((w) => (w.running ? w.pid : -1)), detail).toEqual(pids);
    expect(master.proc.running, detail).toBe(true);
  }, 150_000);
});
