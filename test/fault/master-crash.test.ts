/**
 * Fault: `kill -9` of the master (a real process with a data dir) in the
 * middle of a run, then a restart with the same data dir and ports. Tasks
 * are submitted over REST all along; a task counts as accepted only when its
 * submit got a 2xx. The worker processes are left alone: they must reconnect
 * by themselves (the cluster token is kept in the data dir), every accepted
 * task must end `succeeded`, and no task may ever show two different
 * results: tasks are `sleep`s, whose result (`slept_ms`) differs from run to
 * run, so a task re-run after its result was shown would be caught. A
 * Socket.IO session that submitted tasks just before the crash reconnects by
 * itself and gets their answers, consistent with REST.
 */
import { describe, expect, it } from 'vitest';
import { TERMINAL_STATUSES, type TaskView } from '../../common/task-view.js';
import { parseJsonLine } from '../helpers/processes.js';
import { STATE_WRITE_DELAY_MS } from '../../master/store/sqlite-task-store.js';
import {
  DoneRecorder,
  faultFixture,
  FAST_LEASES,
  getTask,
  listWorkers,
  postTask,
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

const WORKER_IDS = ['mc-0', 'mc-1', 'mc-2'];
const SUBMITTERS = 6;
const BEFORE_CRASH = 250; // accepted tasks before the kill
const AFTER_RESTART = 200; // accepted tasks after the restart
const SESSION_TASKS = 30; // submitted over Socket.IO just before the crash (the master replays a session's last 50)

/** What a terminal task showed: the result a user would have read. */
const shown = (t: TaskView) => JSON.stringify({ status: t.status, result: t.result, attempt: t.attempt, worker: t.worker_id });

describe('fault: kill -9 of the master mid-run, restart with the same data dir', () => {
  let recorder: DoneRecorder | undefined;
  const { group, tmp } = faultFixture('taskwire-fault-master-', { before: () => recorder?.close() });

  it('0 accepted tasks lost, no task reports two different results, workers and a browser session reconnect by themselves', async () => {
    const env = { ...FAST_LEASES };
    let master = await startMasterProcess(group, { name: 'master#1', dataDir: tmp.dir, env });
    const ports = { httpPort: master.httpPort, grpcPort: master.grpcPort, mqttPort: Number(new URL(master.mqttUrl).port) };

    // The operator's way to get the generated cluster token: `taskwire token --data-dir`.
    const tokenCmd = group.taskwire('token', ['token', '--data-dir', tmp.dir]);
    expect((await tokenCmd.waitForExit(30_000)).code, tokenCmd.output()).toBe(0);
    const token = tokenCmd.lines.find((l) => l.stream === 'stdout' && l.text.trim())?.text.trim() ?? '';
    expect(token.length).toBeGreaterThan(16);

    const workers = WORKER_IDS.map((id) => spawnWorker(group, { id, mqttUrl: master.mqttUrl, clusterToken: token, capacity: 8, dir: tmp.dir }));
    await Promise.all(workers.map((w) => workerReady(w)));
    await waitForWorkersOnline(master.httpUrl, WORKER_IDS);
    const pids = workers.map((w) => w.pid);

    const httpUrl = master.httpUrl; // the same after the restart
    const accepted = new Map<string, number>(); // id -> requested ms
    let attempted = 0;
    const firstShown = new Map<string, string>();
    const contradictions: string[] = [];
    const observe = (t: TaskView | undefined) => {
      if (!t || !TERMINAL_STATUSES.has(t.status)) return;
      const s = shown(t);
      const first = firstShown.get(t.id);
      if (first === undefined) firstShown.set(t.id, s);
      else if (first !== s) contradictions.push(`${t.id}: first ${first}, then ${s}`);
    };

    // Submitters: REST posts all along (they fail while the master is down).
    const random = rng(0xc0ffee);
    let submitting = true;
    const submitters = Array.from({ length: SUBMITTERS }, async () => {
      while (submitting) {
        const ms = 150 + Math.floor(random() * 250);
        attempted++;
        const t = await postTask(httpUrl, { kind: 'sleep', input: { ms } });
        if (t) accepted.set(t.id, ms);
        await sleep(t ? 40 : 100);
      }
    });
    // An observer reads tasks back as a user polling REST would, and remembers the first final it saw.
    let observing = true;
    const observer = (async () => {
      while (observing) {
        const ids = [...accepted.keys()].filter((id) => !firstShown.has(id) || random() < 0.05);
        for (const id of ids.slice(0, 40)) observe(await getTask(httpUrl, id));
        await sleep(50);
      }
    })();

    await until(() => accepted.size >= BEFORE_CRASH, `${BEFORE_CRASH} accepted tasks`, 60_000, 20);
    // A browser-like session submits a few longer tasks just before the crash; it must get
    // their answers after the restart by reconnecting on its own with its session id.
    recorder = new DoneRecorder(httpUrl, `fault-crash-${Date.now()}`);
    await recorder.ready();
    const sessionIds = await Promise.all(Array.from({ length: SESSION_TASKS }, (_, i) => recorder!.submit('sleep', { ms: 1500 + 30 * i }).then((t) => t.id)));
    // Crash once some of them have run long enough for their running state to be on disk
    // (STATE_WRITE_DELAY_MS): the new master must adopt those attempts, not re-run them.
    await until(
      async () => {
        const views = await Promise.all(sessionIds.slice(0, 10).map((id) => getTask(httpUrl, id)));
        const cutoff = Date.now() - STATE_WRITE_DELAY_MS - 200;
        return views.some((v) => v?.status === 'running' && Date.parse(v.history.find((h) => h.status === 'running')?.at ?? '') < cutoff);
      },
      'a session task running for longer than STATE_WRITE_DELAY_MS',
      20_000,
      50,
    );
    const finishedBeforeCrash = firstShown.size;
    await master.proc.kill9();
    const acceptedAtCrash = accepted.size;
    await sleep(500);
    master = await startMasterProcess(group, { name: 'master#2', dataDir: tmp.dir, ...ports, env });
    const restoredLine = master.proc.lines.map((l) => parseJsonLine(l.text)).find((r) => r?.msg === 'restored unfinished tasks from the store');
    const restored = { queued: Number(restoredLine?.queued ?? 0), inFlight: Number(restoredLine?.inFlight ?? 0) };

    // Workers were not touched: they reconnect by themselves with the kept token.
    await waitForWorkersOnline(master.httpUrl, WORKER_IDS, 30_000);
    await until(() => accepted.size >= acceptedAtCrash + AFTER_RESTART, `${AFTER_RESTART} more accepted tasks`, 60_000, 20);
    submitting = false;
    await Promise.all(submitters);

    const views = await settleTasks(httpUrl, [...accepted.keys()], 60_000);
    await until(() => sessionIds.every((id) => recorder!.done.has(id)), 'the session to get every answer', 30_000).catch(() => undefined);
    // On the session: every task answered, and all its task:done events (live and replayed) agree, and match REST.
    let sessionAnswered = 0;
    let sessionConflicting = 0;
    for (const id of sessionIds) {
      const events = recorder.done.get(id) ?? [];
      if (events.length > 0 && events[0]!.status === 'succeeded') sessionAnswered++;
      const rest = await getTask(httpUrl, id);
      const variants = new Set([...events, ...(rest ? [rest] : [])].map(shown));
      if (variants.size > 1) sessionConflicting++;
    }
    observing = false;
    await observer;
    for (const v of views.values()) observe(v);
    // Every final once more: nothing changed since it was first shown.
    for (const id of accepted.keys()) observe(await getTask(httpUrl, id));

    let succeeded = 0;
    let lost = 0;
    let wrong = 0;
    let redispatched = 0;
    for (const [id, ms] of accepted) {
      const v = views.get(id);
      if (!v || v.status !== 'succeeded') {
        lost++;
        continue;
      }
      const slept = (v.result as { slept_ms?: unknown } | null)?.slept_ms;
      if (typeof slept === 'number' && slept >= ms - 5) succeeded++;
      else wrong++;
      if (v.attempt > 1) redispatched++;
    }
    const workersOnline = (await listWorkers(httpUrl)).filter((w) => WORKER_IDS.includes(w.id) && w.state === 'online').length;

    const line = printCounts('master-crash', {
      submitted: accepted.size,
      succeeded,
      lost,
      duplicate_results: contradictions.length,
      wrong_results: wrong,
      attempted_submits: attempted,
      refused_or_unanswered: attempted - accepted.size,
      accepted_before_crash: acceptedAtCrash,
      finished_seen_before_crash: finishedBeforeCrash,
      restored_queued: restored.queued,
      restored_in_flight: restored.inFlight,
      redispatched_tasks: redispatched,
      workers_reconnected: `${workersOnline}/${WORKER_IDS.length}`,
      session_submitted: sessionIds.length,
      session_answered: sessionAnswered,
      session_conflicting: sessionConflicting,
      session_connects: recorder.connects,
    });
    const notSucceeded = [...accepted.keys()].filter((id) => views.get(id)?.status !== 'succeeded').slice(0, 5);
    const detail = `${line}\n${contradictions.slice(0, 5).join('\n')}\nnot succeeded: ${notSucceeded.map((id) => JSON.stringify(views.get(id) ?? id)).join('\n')}\n${group.dump(40)}`;
    expect(lost, detail).toBe(0);
    expect(contradictions, detail).toEqual([]);
    expect(wrong, detail).toBe(0);
    expect(succeeded, detail).toBe(accepted.size);
    expect(restored.queued, detail).toBeGreaterThan(0);
    expect(restored.inFlight, detail).toBeGreaterThan(0); // attempts adopted after kill -9
    expect(workersOnline, detail).toBe(WORKER_IDS.length);
    expect(sessionAnswered, detail).toBe(SESSION_TASKS);
    expect(sessionConflicting, detail).toBe(0);
    expect(recorder.connects, detail).toBeGreaterThanOrEqual(2); // it did lose the master and came back
    expect(workers.map((w) => (w.running ? w.pid : -1)), detail).toEqual(pids);
  }, 170_000);
});
