/**
 * A worker implementation follows Assignments.result_target (docs/MULTI_MASTER.md,
 * PROTOCOL.md 7.1), as a real process next to a real master A (the presence
 * master, embedded aedes) and two real gRPC ResultServices B and C on
 * 127.0.0.1:0 that record what they get; the test publishes the Assignments
 * messages itself, as another master on the broker would:
 *   - the attempts of a message naming B report to B (STARTED, heartbeats,
 *     chunks, the final), none of it to A or C; a task submitted to A still
 *     reports to A (no target: the presence master);
 *   - ":port" means the broker's host (C);
 *   - an invalid target drops the whole message with a logged warning: none of
 *     its tasks runs, nothing reaches any service;
 *   - B's channel is closed once unused for TASKWIRE_RESULT_ROUTE_IDLE_MS, and
 *     a later attempt naming B opens it again.
 * And with two real masters in multi-master mode (one PostgreSQL, one
 * Mosquitto, in process) and two such workers, one in each master's share:
 * the tasks submitted through either master all succeed on their first
 * attempt, on both workers (only one of the masters is the presence master).
 * Used by python-result-target.test.ts and java-result-target.test.ts.
 */
import * as grpc from '@grpc/grpc-js';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProtoGrpcType } from '../../common/gen/result_service.js';
import type { ResultEvent } from '../../common/gen/taskwire/v1/ResultEvent.js';
import { grpcPackageDefinition } from '../../common/proto-root.js';
import { Topics } from '../../common/topics.js';
import { assignmentsCodec } from '../../common/wire.js';
import { OPEN_POLICY } from '../../master/transport/broker-policy.js';
import { runTask, startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { silentLogger } from '../../common/logger.js';
import type { TaskView } from '../../common/task-view.js';
import { Master } from '../../master/master.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason } from '../helpers/postgres.js';
import { ProcessGroup, type ManagedProcess } from '../helpers/processes.js';

/** One worker implementation under test. */
export interface ResultTargetWorker {
  /** "Python", "Java": in the test names and messages. */
  name: string;
  /** Why it cannot run here (the suite is skipped), or undefined. */
  missing: string | undefined;
  /** Starts one worker next to c's master (env added to its own), resolved once the master sees it online. */
  start(group: ProcessGroup, c: TestCluster, env: Record<string, string>): Promise<{ id: string; process: ManagedProcess }>;
  /** The worker's command line, for a worker process of the multi-master case. */
  command: [string, string[]];
}

interface Recorder {
  port: number;
  events: ResultEvent[];
  submits: { task_id?: string }[];
  /** Events of a task by kind (started, heartbeat, chunk, final), and its SubmitResult calls. */
  of(taskId: string): Record<string, number>;
  close(): Promise<void>;
}

/** A real ResultService on 127.0.0.1:0 that accepts and records everything. */
async function startRecorder(): Promise<Recorder> {
  const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
  const events: ResultEvent[] = [];
  const submits: { task_id?: string }[] = [];
  const server = new grpc.Server();
  server.addService(proto.taskwire.v1.ResultService.service, {
    StreamResults(call: grpc.ServerReadableStream<{ events: ResultEvent[] }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      let n = 0;
      call.on('data', (b: { events: ResultEvent[] }) => {
        events.push(...b.events);
        n += b.events.length;
      });
      call.on('end', () => callback(null, { accepted: n, rejected: 0 }));
      call.on('error', () => undefined);
    },
    SubmitResult(call: grpc.ServerUnaryCall<{ task_id?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      submits.push(call.request);
      callback(null, { disposition: 'DISPOSITION_ACCEPTED', reason: '' });
    },
    FetchSecrets(_call: unknown, callback: grpc.sendUnaryData<unknown>) {
      callback(null, { secrets: {} });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    events,
    submits,
    of(taskId) {
      const kinds: Record<string, number> = {};
      for (const ev of events) if (ev.task_id === taskId && ev.event) kinds[ev.event] = (kinds[ev.event] ?? 0) + 1;
      const s = submits.filter((r) => r.task_id === taskId).length;
      if (s) kinds.submit = s;
      return kinds;
    },
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  };
}

export function describeResultTarget(impl: ResultTargetWorker): void {
  const missing = impl.missing;

  describe.skipIf(missing !== undefined)(`the ${impl.name} worker follows result_target${missing ? ` (skipped: ${missing})` : ''}`, () => {
    const group = new ProcessGroup();
    let c: TestCluster;
    let b: Recorder;
    let cc: Recorder;
    let worker: { id: string; process: ManagedProcess };
    let client: mqtt.MqttClient;
    const topics = new Topics();
    let n = 0;

    const assign = async (target: string | undefined, tasks: { kind: string; input: unknown; heartbeat_interval_ms?: number }[]): Promise<string[]> => {
      const ids = tasks.map(() => `rt-${process.pid}-${++n}`);
      const payload = assignmentsCodec.encode({
        master_id: 'test-master-b',
        ...(target !== undefined && { result_target: target }),
        tasks: tasks.map((t, i) => ({
          task_id: ids[i],
          attempt: 1,
          kind: t.kind,
          input: t.input as never,
          result_token: `tok-${ids[i]}`,
          stream: true,
          heartbeat_interval_ms: t.heartbeat_interval_ms ?? 0,
          deadline_ms: Date.now() + 60_000,
        })),
      });
      await client.publishAsync(topics.workerTasks(worker.id), payload, { qos: 1 });
      return ids;
    };
    const rejectionsAtA = () => [...c.master.tasks.rejections.byReason.values()].reduce((s, v) => s + v, 0);
    const output = () => `\n--- ${impl.name} worker output ---\n${worker.process.output()}`;

    beforeAll(async () => {
      [b, cc] = await Promise.all([startRecorder(), startRecorder()]);
      c = await startCluster({ workers: 0, masterDeps: { brokerPolicy: OPEN_POLICY } });
      worker = await impl.start(group, c, { TASKWIRE_RESULT_ROUTE_IDLE_MS: '1000', TASKWIRE_WORKER_KINDS: 'echo,sleep' });
      client = await mqtt.connectAsync(c.mqttUrl, { clientId: uniqueId('other-master'), protocolVersion: 4 });
    }, 60_000);

    afterAll(async () => {
      await client?.endAsync();
      await group.stopAll();
      await c?.close();
      await Promise.all([b?.close(), cc?.close()]);
    });

    it('reports the attempts of a message naming B to B, a task of A to A, ":port" to the broker host', { timeout: 60_000 }, async () => {
      const before = rejectionsAtA();
      const [sleepId, echoId] = await assign(`127.0.0.1:${b.port}`, [
        { kind: 'sleep', input: { ms: 400 }, heartbeat_interval_ms: 50 },
        { kind: 'echo', input: { text: 'to the other master' } },
      ]);
      const [portOnlyId] = await assign(`:${cc.port}`, [{ kind: 'echo', input: { text: 'broker host' } }]);
      const ofA = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'to the presence master' } }, 20_000);
      expect(ofA.status).toBe('succeeded');
      expect(ofA.worker_id).toBe(worker.id);

      await waitFor(() => b.of(sleepId!).final === 1 && b.of(echoId!).final === 1 && cc.of(portOnlyId!).final === 1, 'the routed finals', 20_000, 20).catch(
        (err: Error) => {
          throw new Error(`${err.message}: B ${JSON.stringify(b.events.map((e) => [e.task_id, e.event]))}, C ${JSON.stringify(cc.events.map((e) => [e.task_id, e.event]))}${output()}`);
        },
      );
      const sleep = b.of(sleepId!);
      expect(sleep.started).toBe(1);
      expect(sleep.heartbeat).toBeGreaterThanOrEqual(2);
      expect(b.of(echoId!)).toMatchObject({ started: 1, chunk: 4, final: 1 });
      expect(cc.of(portOnlyId!)).toMatchObject({ started: 1, chunk: 2, final: 1 });
      const final = b.events.find((e) => e.task_id === echoId && e.event === 'final')!;
      expect(final.final?.outcome).toBe('TASK_OUTCOME_SUCCEEDED');
      expect(final.result_token).toBe(`tok-${echoId}`);
      expect(final.worker_id).toBe(worker.id);

      // Nothing crossed: B's and C's attempts only at B and C, A's task at A only.
      expect(cc.of(sleepId!)).toEqual({});
      expect(cc.of(echoId!)).toEqual({});
      expect(b.of(portOnlyId!)).toEqual({});
      expect(b.of(ofA.id)).toEqual({});
      expect(cc.of(ofA.id)).toEqual({});
      expect(rejectionsAtA() - before).toBe(0); // A refuses results of attempts it never dispatched: none came
    });

    it('drops a message with an invalid result_target, with a warning, and runs none of its tasks', { timeout: 30_000 }, async () => {
      const before = rejectionsAtA();
      const [badId] = await assign('no-port', [{ kind: 'echo', input: { text: 'never' } }]);
      await worker.process.waitForLine((t) => t.includes('invalid message dropped') && t.includes('result_target'), 10_000, 'the warning');
      // A later valid message to B still runs, so the dropped one had its chance to arrive first.
      const [afterId] = await assign(`127.0.0.1:${b.port}`, [{ kind: 'echo', input: { text: 'after the bad one' } }]);
      await waitFor(() => b.of(afterId!).final === 1, 'the final after the dropped message', 20_000, 20);
      expect(b.of(badId!)).toEqual({});
      expect(cc.of(badId!)).toEqual({});
      expect(rejectionsAtA() - before).toBe(0);
      expect(worker.process.matching((t) => t.includes(badId!))).toEqual([]);
    });

    it('closes the channel to B once unused, and opens it again for a later attempt', { timeout: 30_000 }, async () => {
      const opened = () => worker.process.matching((t) => t.includes(`result service target set: 127.0.0.1:${b.port}`)).length;
      const closed = () => worker.process.matching((t) => t.includes(`result route to 127.0.0.1:${b.port} closed (idle)`)).length;
      expect(opened()).toBeGreaterThanOrEqual(1);
      await waitFor(() => closed() === opened(), "B's route closed once idle", 15_000, 20).catch((err: Error) => {
        throw new Error(`${err.message}${output()}`);
      });
      const before = opened();
      const [againId] = await assign(`127.0.0.1:${b.port}`, [{ kind: 'echo', input: { text: 'again' } }]);
      await waitFor(() => b.of(againId!).final === 1, 'the final on the reopened route', 20_000, 20).catch((err: Error) => {
        throw new Error(`${err.message}${output()}`);
      });
      expect(opened()).toBe(before + 1);
    });
  });

  const multiMissing = missing ?? (!postgresAvailable() ? postgresMissingReason() : !mosquittoAvailable() ? 'no mosquitto' : undefined);

  describe.skipIf(multiMissing !== undefined)(`${impl.name} workers with two masters (TASKWIRE_MASTERS=multi)${multiMissing ? ` (skipped: ${multiMissing})` : ''}`, () => {
    let server: Postgres;
    let broker: Mosquitto;
    beforeAll(async () => {
      [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([server?.close(), broker?.close()]);
    });

    it('runs the tasks of both masters, each on its first attempt, on both workers', { timeout: 120_000 }, async () => {
      const url = await server.createDatabase();
      const topicRoot = uniqueId('tw');
      const common = { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, store: url, masters: 'multi' as const, mqttUrl: broker.url, topicRoot };
      const masters: Master[] = [];
      const group = new ProcessGroup();
      try {
        masters.push(await Master.create({ ...common, masterId: uniqueId('ma') }, { logger: { logger: silentLogger() } }));
        masters.push(await Master.create({ ...common, masterId: uniqueId('mb') }, { logger: { logger: silentLogger() } }));
        const workers = [uniqueId(`${impl.name}-a`), uniqueId(`${impl.name}-b`)].map((id) =>
          group.spawn(id, impl.command[0], impl.command[1], {
            env: { TASKWIRE_MQTT_URL: broker.url, TASKWIRE_TOPIC_ROOT: topicRoot, TASKWIRE_WORKER_ID: id, TASKWIRE_WORKER_CAPACITY: '4', TASKWIRE_SHUTDOWN_GRACE_MS: '1000', TASKWIRE_WORKER_KINDS: 'echo' },
          }),
        );
        // One worker in each master's share (the other master lists it as draining).
        await waitFor(
          () => {
            for (const w of workers) if (!w.running) throw new Error(`a ${impl.name} worker exited: ${w.output()}`);
            return masters.every((m) => m.registry.schedulable().length === 1) && new Set(masters.map((m) => m.registry.schedulable()[0]!.id)).size === 2;
          },
          `one ${impl.name} worker in each master's share`,
          60_000,
          50,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${workers.map((w) => w.output()).join('\n')}`);
        });
        const bases = masters.map((m) => `http://127.0.0.1:${m.httpPort}`);
        const submit = async (base: string, i: number): Promise<string> => {
          const res = await fetch(`${base}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: `task ${i} via ${base}` }, max_attempts: 1 }) });
          expect(res.status).toBe(202);
          return ((await res.json()) as { id: string }).id;
        };
        const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(bases[i % 2]!, i)));
        const views = await Promise.all(
          ids.map((id, i) =>
            waitFor(
              async () => {
                const t = (await (await fetch(`${bases[i % 2]}/api/v1/tasks/${id}`)).json()) as TaskView;
                return ['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status) ? t : undefined;
              },
              `task ${id}`,
              60_000,
              50,
            ),
          ),
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${workers.map((w) => w.output()).join('\n')}`);
        });
        for (const [i, t] of views.entries()) {
          expect(t.status, JSON.stringify(t)).toBe('succeeded');
          expect(t.attempt).toBe(1);
          expect((t.result as { text: string }).text).toBe(`task ${i} via ${bases[i % 2]}`);
        }
        // Both workers ran some: one of them reported to a master that is not the presence master.
        expect(new Set(views.map((t) => t.worker_id)).size).toBe(2);
      } finally {
        await group.stopAll();
        for (const m of masters.reverse()) await m.close();
      }
    });
  });
}
