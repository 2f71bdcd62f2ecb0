/**
 * Interop over real processes: a real Mosquitto as the external broker, the
 * master and two workers as `node dist/cli/taskwire.js` child processes, and the
 * real `mosquitto_sub` watching `taskwire/v1/#` the way an operator would.
 * Needs `npm run build` first (npm test does it) and Debian mosquitto +
 * mosquitto-clients; skips with a message only when /usr/sbin/mosquitto is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOPIC_ROOT, Topics } from '../../common/topics.js';
import type { TaskView, WorkerView } from '../../common/task-view.js';
import { clusterStatusCodec, logLineCodec, masterStatusCodec, workerStatusCodec, type WorkerStatus__Output } from '../../common/wire.js';
import { runTask, uniqueId, waitFor, waitForTask } from '../helpers/cluster.js';
import {
  MOSQUITTO_BINARY,
  Mosquitto,
  mosquittoAvailable,
  spawnMosquittoSub,
  subMessages,
  waitForSuback,
  type SubMessage,
} from '../helpers/mosquitto.js';
import { type ManagedProcess, ProcessGroup, waitForHttp, waitForLog } from '../helpers/processes.js';
import { expectLogLine, lateRetained } from './interop-checks.js';

const available = mosquittoAvailable();
if (!available) {
  process.stderr.write(`\n[interop] SKIPPED: ${MOSQUITTO_BINARY} is not installed (apt-get install mosquitto mosquitto-clients)\n\n`);
}

const topics = new Topics(DEFAULT_TOPIC_ROOT);
const ROOT = `${DEFAULT_TOPIC_ROOT}/`;

describe.skipIf(!available)(`interop: master + 2 worker processes over a real Mosquitto, watched by mosquitto_sub`, () => {
  const procs = new ProcessGroup();
  let broker: Mosquitto | undefined;
  let dir = '';
  let sub: ManagedProcess;
  let master: ManagedProcess;
  let httpUrl = '';
  let grpcPort = 0;
  const masterId = uniqueId('imaster');
  const w1 = { id: uniqueId('iw1'), capacity: 3, proc: undefined as ManagedProcess | undefined };
  const w2 = { id: uniqueId('iw2'), capacity: 5, proc: undefined as ManagedProcess | undefined };

  const messages = (): SubMessage[] => subMessages(sub, ROOT);
  const getTask = async (id: string): Promise<TaskView> => (await (await fetch(`${httpUrl}/api/v1/tasks/${id}`)).json()) as TaskView;
  async function submit(body: unknown): Promise<string> {
    const res = await fetch(`${httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(202);
    return ((await res.json()) as TaskView).id;
  }
  const workersView = async (): Promise<WorkerView[]> => ((await (await fetch(`${httpUrl}/api/v1/workers`)).json()) as { workers: WorkerView[] }).workers;

  function startWorker(w: typeof w1): ManagedProcess {
    return procs.taskwire(w.id, ['worker'], {
      env: {
        TASKWIRE_MQTT_URL: broker!.url,
        TASKWIRE_WORKER_ID: w.id,
        TASKWIRE_WORKER_CAPACITY: String(w.capacity),
        // only the diagnostics: no LLM provider probing
        TASKWIRE_WORKER_KINDS: 'echo,sleep',
        TASKWIRE_HEALTH_FILE: join(dir, `${w.id}.health`),
        TASKWIRE_LOG_LEVEL: 'info',
      },
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskwire-interop-'));
    broker = await Mosquitto.start();
    // The operator's view, subscribed before anything else runs so it sees every log line.
    sub = spawnMosquittoSub(procs, 'mosquitto_sub', { host: broker.host, port: broker.port, topics: [topics.everything()], timeoutSeconds: 150 });
    expect(await waitForSuback(sub)).toEqual([0]);

    master = procs.taskwire('master', ['master'], {
      env: {
        TASKWIRE_MQTT_URL: broker.url,
        TASKWIRE_BIND_HOST: '127.0.0.1',
        TASKWIRE_HTTP_PORT: '0',
        TASKWIRE_GRPC_PORT: '0',
        TASKWIRE_LOCAL_WORKERS: '0',
        TASKWIRE_MASTER_ID: masterId,
        TASKWIRE_LOG_LEVEL: 'info',
      },
    });
    const running = await waitForLog(master, /^master running$/, 20_000);
    expect(running.mqtt).toBe(broker.url);
    httpUrl = `http://127.0.0.1:${Number(running.http_port)}`;
    grpcPort = Number(running.grpc_port);
    await waitForHttp(`${httpUrl}/healthz`, { process: master, timeoutMs: 20_000 });

    w1.proc = startWorker(w1);
    w2.proc = startWorker(w2);
    await waitFor(
      async () => {
        const ws = await workersView();
        return [w1.id, w2.id].every((id) => ws.some((w) => w.id === id && w.state === 'online'));
      },
      'both worker processes online at the master',
      30_000,
      50,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${procs.dump()}`);
    });
  }, 90_000);

  afterEach((ctx) => {
    // the processes' own words are what explains a failure here
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n[interop] output after "${ctx.task.name}":\n${procs.dump(60)}\n`);
  });

  afterAll(async () => {
    await procs.stopAll();
    await broker?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('REST echo tasks succeed through Mosquitto on both worker processes', async () => {
    const texts = Array.from({ length: 12 }, (_, i) => `interop hello ${i} through mosquitto`);
    const done: TaskView[] = await Promise.all(texts.map((text) => runTask(httpUrl, { kind: 'echo', input: { text } }, 20_000)));
    for (const [i, t] of done.entries()) {
      expect(t.status, JSON.stringify(t)).toBe('succeeded');
      expect(t.result).toEqual({ text: texts[i] });
      expect(t.worker_language).toBe('typescript');
      expect([w1.id, w2.id]).toContain(t.worker_id);
    }
    // least loaded, ties round-robin: two idle workers both get work
    expect(new Set(done.map((t) => t.worker_id)).size).toBe(2);
  }, 60_000);

  it('mosquitto_sub -v sees worker status (ONLINE, kinds, capacity, language) and the master status', async () => {
    for (const w of [w1, w2]) {
      const status = await waitFor(
        () =>
          messages()
            .filter((m) => m.topic === topics.workerStatus(w.id))
            .map((m) => workerStatusCodec.decode(m.payload))
            .find((s) => s.state === 'WORKER_STATE_ONLINE'),
        `ONLINE status of ${w.id} in mosquitto_sub`,
      );
      expect(status.worker_id).toBe(w.id);
      expect(status.kinds).toEqual(['echo', 'sleep']);
      expect(status.capacity).toBe(w.capacity);
      expect(status.language).toBe('typescript');
      expect(status.protocol).toBe('taskwire.v1');
      expect(status.pid).toBe(w.proc!.pid);
    }
    const ms = await waitFor(
      () => messages().find((m) => m.topic === topics.masterStatus()),
      'master status in mosquitto_sub',
    );
    const m = masterStatusCodec.decode(ms.payload);
    expect(m.state).toBe('MASTER_STATE_ONLINE');
    expect(m.master_id).toBe(masterId);
    expect(m.grpc_port).toBe(grpcPort);
    expect(`http://127.0.0.1:${m.http_port}`).toBe(httpUrl);
  });

  it('mosquitto_sub sees cluster status with both workers online and the completed tasks', async () => {
    // published every 2 s; wait for one that reflects the first test
    const cs = await waitFor(
      () =>
        messages()
          .filter((m) => m.topic === topics.clusterStatus())
          .map((m) => clusterStatusCodec.decode(m.payload))
          .find((c) => c.workers?.online === 2 && c.total_completed >= 12),
      'a cluster status with 2 workers online and 12 completed tasks',
      15_000,
      50,
    );
    expect(cs.capacity).toBe(w1.capacity + w2.capacity);
    expect(cs.queued).toBe(0);
  }, 30_000);

  it('mosquitto_sub sees JSON log lines {ts, level, source, msg} on taskwire/v1/logs/<source> from master and workers', async () => {
    const sources = ['master', w1.id, w2.id];
    await waitFor(
      () => sources.every((s) => messages().some((m) => m.topic === topics.log(s))),
      `log lines from ${sources.join(', ')}`,
    );
    const logs = messages().filter((m) => m.topic.startsWith(`${ROOT}logs/`));
    for (const m of logs) expectLogLine(m);
    const bySource = (s: string) => logs.filter((m) => m.topic === topics.log(s)).map((m) => logLineCodec.decode(m.payload).msg);
    expect(bySource('master')).toContain('master running');
    expect(bySource('master')).toContain(`worker ${w1.id} online`);
    expect(bySource(w1.id)).toContain('worker online');
    expect(bySource(w2.id)).toContain('worker online');
  });

  it('a malformed status published with mosquitto_pub is logged and dropped; the master keeps working', async () => {
    const bogus = uniqueId('bogus');
    const pub = (topic: string, payload: string) =>
      procs.spawn(`mosquitto_pub ${topic}`, 'mosquitto_pub', ['-h', broker!.host, '-p', String(broker!.port), '-V', 'mqttv311', '-q', '1', '-r', '-t', topic, '-m', payload]);
    for (const p of [
      pub(topics.workerStatus(bogus), 'not json {'),
      pub(topics.workerStatus(`${bogus}-x`), JSON.stringify({ worker_id: 'someone-else', state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity: 1 })),
    ]) {
      expect((await p.waitForExit(10_000)).code, p.output()).toBe(0);
    }
    await waitForLog(master, /^invalid worker status dropped$/);
    await waitFor(() => master.matching(/invalid worker status dropped/).length >= 2, 'both bad statuses logged');
    expect((await workersView()).map((w) => w.id)).not.toContain(bogus);
    expect((await workersView()).map((w) => w.id)).not.toContain('someone-else');
    expect(master.running).toBe(true);
    const t = await runTask(httpUrl, { kind: 'echo', input: { text: 'still fine' } }, 20_000);
    expect(t.status).toBe('succeeded');
  }, 30_000);

  it('kill -9 of a worker: mosquitto_sub sees the Last Will (retained OFFLINE), the master shows it offline and re-dispatches its task', async () => {
    // two sleeps at once: least loaded puts one on each worker
    const ids = await Promise.all([0, 1].map(() => submit({ kind: 'sleep', input: { ms: 1500 } })));
    const onW2 = await waitFor(
      async () => {
        const ts = await Promise.all(ids.map((id) => getTask(id)));
        return ts.every((t) => t.status === 'running') && ts.find((t) => t.worker_id === w2.id);
      },
      `one sleep task running on ${w2.id}`,
      15_000,
      20,
    );
    const killedAt = Date.now();
    const exit = await w2.proc!.kill9();
    expect(exit.signal).toBe('SIGKILL');

    const offline = await waitFor(
      () =>
        messages()
          .filter((m) => m.topic === topics.workerStatus(w2.id) && m.atMs >= killedAt)
          .map((m) => workerStatusCodec.decode(m.payload))
          .find((s: WorkerStatus__Output) => s.state === 'WORKER_STATE_OFFLINE'),
      `OFFLINE (Last Will) of ${w2.id} in mosquitto_sub`,
      15_000,
      20,
    );
    expect(offline.worker_id).toBe(w2.id);
    expect(offline.reason).toBe('connection lost'); // the will, not a clean shutdown

    await waitFor(
      async () => (await workersView()).find((w) => w.id === w2.id)?.state === 'offline',
      `GET /api/v1/workers to show ${w2.id} offline`,
    );
    const ws = await workersView();
    expect(ws.find((w) => w.id === w1.id)?.state).toBe('online');

    // the task the dead worker held runs again on the survivor, as attempt 2
    const again = await waitForTask(httpUrl, onW2.id, 20_000);
    expect(again.status, JSON.stringify(again)).toBe('succeeded');
    expect(again.attempt).toBe(2);
    expect(again.worker_id).toBe(w1.id);
    expect(again.history.some((h) => h.status === 'queued' && /connection lost/.test(h.reason ?? ''))).toBe(true);
    for (const id of ids) expect((await waitForTask(httpUrl, id, 20_000)).status).toBe('succeeded');

    const t = await runTask(httpUrl, { kind: 'echo', input: { text: 'after the crash' } }, 20_000);
    expect(t.status).toBe('succeeded');
    expect(t.worker_id).toBe(w1.id);
  }, 60_000);

  it('a late subscriber (mosquitto_sub -C 1) gets the retained statuses', async () => {
    const b = broker!;
    const dead = await lateRetained(procs, b, topics.workerStatus(w2.id));
    expect(dead.retained).toBe(true);
    const d = workerStatusCodec.decode(dead.payload);
    expect(d.state).toBe('WORKER_STATE_OFFLINE');
    expect(d.worker_id).toBe(w2.id);

    const alive = await lateRetained(procs, b, topics.workerStatus(w1.id));
    expect(alive.retained).toBe(true);
    const a = workerStatusCodec.decode(alive.payload);
    expect(a.state).toBe('WORKER_STATE_ONLINE');
    expect(a.capacity).toBe(w1.capacity);

    const m = await lateRetained(procs, b, topics.masterStatus());
    expect(m.retained).toBe(true);
    expect(masterStatusCodec.decode(m.payload).state).toBe('MASTER_STATE_ONLINE');

    const c = await lateRetained(procs, b, topics.clusterStatus());
    expect(c.retained).toBe(true);
    // published every 2 s: the retained one may still predate the crash
    expect(clusterStatusCodec.decode(c.payload).master_id).toBe(masterId);
  }, 60_000);

  it('kill -9 of the master: mosquitto_sub sees its Last Will, a retained MASTER_STATE_OFFLINE', async () => {
    const killedAt = Date.now();
    expect((await master.kill9()).signal).toBe('SIGKILL');
    const off = await waitFor(
      () =>
        messages()
          .filter((m) => m.topic === topics.masterStatus() && m.atMs >= killedAt)
          .map((m) => masterStatusCodec.decode(m.payload))
          .find((s) => s.state === 'MASTER_STATE_OFFLINE'),
      'OFFLINE master status in mosquitto_sub',
      15_000,
      20,
    );
    expect(off.master_id).toBe(masterId);
    const late = await lateRetained(procs, broker!, topics.masterStatus());
    expect(late.retained).toBe(true);
    expect(masterStatusCodec.decode(late.payload).state).toBe('MASTER_STATE_OFFLINE');
  }, 30_000);
});
