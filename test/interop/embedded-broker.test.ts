/**
 * The embedded aedes broker speaks to the real `mosquitto_sub` (Debian
 * mosquitto-clients): retained worker status, JSON log lines, and a refused
 * `$share/...` subscription (aedes would otherwise drop it silently).
 * The cluster runs in-process (test/helpers/cluster.ts) on 127.0.0.1, port 0.
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { DEFAULT_TOPIC_ROOT, Topics } from '../../common/topics.js';
import { logLineCodec, masterStatusCodec, workerStatusCodec } from '../../common/wire.js';
import { runTask, startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { spawnMosquittoSub, subMessages, waitForSuback } from '../helpers/mosquitto.js';
import { type ManagedProcess, ProcessGroup } from '../helpers/processes.js';
import { expectLogLine, lateRetained } from './interop-checks.js';

const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';
const available = existsSync(MOSQUITTO_SUB);
if (!available) {
  process.stderr.write(`\n[interop] SKIPPED: ${MOSQUITTO_SUB} is not installed (apt-get install mosquitto-clients)\n\n`);
}

const topics = new Topics(DEFAULT_TOPIC_ROOT);
const ROOT = `${DEFAULT_TOPIC_ROOT}/`;

describe.skipIf(!available)('interop: embedded aedes broker with the real mosquitto_sub', () => {
  const procs = new ProcessGroup();
  let c: TestCluster | undefined;
  let sub: ManagedProcess;
  // The embedded broker's read-only `observer` account (anonymous clients are refused by default).
  const observer = { host: '', port: 0, username: 'observer', password: uniqueId('observer-pw') };
  const ids = [uniqueId('ew1'), uniqueId('ew2')];

  beforeAll(async () => {
    // loggers that publish to MQTT (the cluster helper's default is silent)
    const masterLog = createLogger({ source: 'master', destination: false });
    c = await startCluster({ workers: 0, master: { observerPassword: observer.password }, masterDeps: { logger: masterLog } });
    const url = new URL(c.mqttUrl);
    observer.host = url.hostname;
    observer.port = Number(url.port);
    expect(observer.host).toBe('127.0.0.1');

    sub = spawnMosquittoSub(procs, 'mosquitto_sub', { ...observer, topics: [topics.everything()], timeoutSeconds: 90 });
    expect(await waitForSuback(sub)).toEqual([0]);
    for (const id of ids) {
      await c.addWorker({ workerId: id, capacity: 2, kinds: ['echo', 'sleep'] }, { logger: createLogger({ source: id, destination: false }) });
    }
    await c.waitForWorkers(2);
  }, 60_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`\n[interop] output after "${ctx.task.name}":\n${procs.dump(60)}\n`);
  });

  afterAll(async () => {
    await procs.stopAll();
    await c?.close();
  }, 30_000);

  it('mosquitto_sub sees worker and master status, and a late subscriber gets them retained', async () => {
    const messages = () => subMessages(sub, ROOT);
    for (const id of ids) {
      const live = await waitFor(
        () => messages().find((m) => m.topic === topics.workerStatus(id)),
        `status of ${id} in mosquitto_sub`,
      );
      const s = workerStatusCodec.decode(live.payload);
      expect(s.state).toBe('WORKER_STATE_ONLINE');
      expect(s.kinds).toEqual(['echo', 'sleep']);
      expect(s.capacity).toBe(2);
      expect(s.language).toBe('typescript');

      const late = await lateRetained(procs, observer, topics.workerStatus(id));
      expect(late.retained).toBe(true);
      expect(late.topic).toBe(topics.workerStatus(id));
      expect(workerStatusCodec.decode(late.payload).state).toBe('WORKER_STATE_ONLINE');
    }
    const m = await lateRetained(procs, observer, topics.masterStatus());
    expect(m.retained).toBe(true);
    const ms = masterStatusCodec.decode(m.payload);
    expect(ms.state).toBe('MASTER_STATE_ONLINE');
    expect(ms.grpc_port).toBe(c!.grpcPort);
  }, 60_000);

  it('mosquitto_sub sees JSON log lines from the master and the workers', async () => {
    const done = await runTask(c!.httpUrl, { kind: 'echo', input: { text: 'embedded broker interop' } });
    expect(done.status).toBe('succeeded');
    const messages = () => subMessages(sub, `${ROOT}logs/`);
    await waitFor(
      () => ['master', ...ids].every((s) => messages().some((m) => m.topic === topics.log(s))),
      'log lines from master and both workers',
    );
    const logs = messages();
    for (const m of logs) expectLogLine(m);
    const masterMsgs = logs.filter((m) => m.topic === topics.log('master')).map((m) => logLineCodec.decode(m.payload).msg);
    for (const id of ids) expect(masterMsgs).toContain(`worker ${id} online`);
    for (const id of ids) {
      expect(logs.filter((m) => m.topic === topics.log(id)).map((m) => logLineCodec.decode(m.payload).msg)).toContain('worker online');
    }
    // the read-only observer on `taskwire/v1/#` is never sent assignments or control (they carry tokens)
    expect(subMessages(sub, ROOT).filter((m) => /\/(tasks|control)$/.test(m.topic))).toEqual([]);
  });

  it('refuses an anonymous mosquitto_sub (read access needs the observer account by default)', async () => {
    const anon = spawnMosquittoSub(procs, 'mosquitto_sub anonymous', { host: observer.host, port: observer.port, topics: [topics.everything()], timeoutSeconds: 10 });
    const exit = await anon.waitForExit(15_000);
    expect(exit.code, anon.output()).not.toBe(0);
    expect(anon.output()).toMatch(/received CONNACK \((4|5)\)/);
    expect(anon.matching(/^Subscribed/)).toEqual([]);
  }, 30_000);

  it('refuses a $share/... subscription (SUBACK 0x80) instead of dropping it silently', async () => {
    const shared = spawnMosquittoSub(procs, 'mosquitto_sub $share', {
      ...observer,
      topics: [`$share/g/${topics.everything()}`],
      timeoutSeconds: 10,
      extraArgs: ['-E'], // exit once the SUBACK arrived
    });
    expect(await waitForSuback(shared)).toEqual([128]);
    await shared.waitForExit(15_000);
    expect(shared.output()).toMatch(/All subscription requests were denied/);

    // the ordinary subscription next to it is unaffected
    const plain = await lateRetained(procs, observer, topics.masterStatus());
    expect(plain.retained).toBe(true);
  }, 30_000);
});
