/**
 * A user's own provider key reaches the provider and nothing else. During a
 * run where users bring their keys through Socket.IO (`api_key`) and through
 * the gateway header `X-Taskwire-Provider-Key`, an MQTT client subscribed to
 * `#` on the embedded broker records every message (retained ones too), and
 * the master's and workers' pino output is captured (in-process: a custom
 * destination; the worker process: its stdout). The keys must show up in the
 * provider's Authorization headers, and nowhere in MQTT, the logs, the task
 * records over REST or the Socket.IO events.
 */
import mqtt, { type MqttClient } from 'mqtt';
import OpenAI from 'openai';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents, SubmitTaskRequest } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { OPEN_POLICY } from '../../master/transport/broker.js';
import { waitFor } from '../helpers/cluster.js';
import { capturingLogger, getTask, lastUser, startLlmCluster, taskIdOf, type LlmCluster } from './llm-cluster.js';

const CLUSTER_KEY = 'tw-cluster-key-5d1c9e77a0b3';
const WORKER_KEY = 'sk-worker-configured-3f9a2b7e61';
const SOCKET_KEY = 'sk-user-socket-7c1e5b2d9a04';
const GATEWAY_KEY = 'sk-user-gateway-4b8f0e6c1d55';
/** The provider refuses this one and, as some providers do, quotes it in the error message. */
const ECHOED_KEY = 'sk-user-echoed-9e2d4f6a8c11';
const SECRETS = { CLUSTER_KEY, WORKER_KEY, SOCKET_KEY, GATEWAY_KEY, ECHOED_KEY };

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

interface MqttRecord {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

/** Names the secrets that occur in `text` (as is, or base64-encoded). */
function leaked(text: string | Buffer): string[] {
  const s = typeof text === 'string' ? text : text.toString('latin1');
  return Object.entries(SECRETS)
    .filter(([, v]) => s.includes(v) || s.includes(Buffer.from(v).toString('base64')) || s.includes(Buffer.from(v).toString('base64url')))
    .map(([k]) => k);
}

describe('user-supplied provider keys', () => {
  let env: LlmCluster;
  let sub: MqttClient | undefined;
  let socket: ClientSocket | undefined;
  const mqttRecords: MqttRecord[] = [];
  const masterLog = capturingLogger('master');
  const workerLogs = new Map<string, string[]>();
  const socketEvents: { event: string; payload: unknown }[] = [];
  const rateLimited = new Set<string>();

  beforeAll(async () => {
    env = await startLlmCluster({
      master: { apiKeys: [CLUSTER_KEY] },
      // No broker ACLs: the spy sees every topic, as any client of a broker
      // without ACLs would (assignments and control included).
      masterDeps: { logger: masterLog, brokerPolicy: OPEN_POLICY },
      workerEnv: { OPENAI_API_KEY: WORKER_KEY },
      workerLogger: (id) => {
        const l = capturingLogger(id);
        workerLogs.set(id, l.lines);
        return l;
      },
      processLogLevel: 'trace',
      provider: {
        fail: (req, messages) => {
          if (req.headers['authorization'] === `Bearer ${ECHOED_KEY}`) {
            return { status: 401, error: { message: `Incorrect API key provided: ${ECHOED_KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } };
          }
          const text = lastUser(messages);
          if (text.includes('[429-once]') && !rateLimited.has(text)) {
            rateLimited.add(text);
            return { status: 429, error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } };
          }
          return undefined;
        },
      },
      beforeWorkers: async (cluster) => {
        // Everything on the broker from before the first worker connects, retained messages included.
        sub = await mqtt.connectAsync(cluster.mqttUrl, { clientId: `spy-${process.pid}`, reconnectPeriod: 0 });
        sub.on('message', (topic, payload, packet) => mqttRecords.push({ topic, payload: Buffer.from(payload), retain: packet.retain }));
        await sub.subscribeAsync('#', { qos: 1 });
      },
    });
    socket = io(env.httpUrl, { auth: { apiKey: CLUSTER_KEY }, transports: ['websocket'], reconnection: false }) as ClientSocket;
    for (const event of ['session', 'task:update', 'task:chunk', 'task:done'] as const) {
      socket.on(event, (payload: unknown) => socketEvents.push({ event, payload }));
    }
    await new Promise<void>((resolve, reject) => {
      socket!.once('connect', resolve);
      socket!.once('connect_error', reject);
    });
  }, 90_000);

  afterAll(async () => {
    socket?.close();
    await sub?.endAsync();
    await env?.close();
  }, 60_000);

  /** Submits over Socket.IO and resolves with the final task from `task:done`. */
  async function viaSocket(content: string, apiKey?: string): Promise<TaskView> {
    const request: SubmitTaskRequest = { kind: 'llm', input: { messages: [{ role: 'user', content }] } };
    if (apiKey !== undefined) request.api_key = apiKey;
    const ack = await socket!.timeout(10_000).emitWithAck('task:submit', request);
    if (!ack.ok) throw new Error(`submit refused: ${ack.error.code} ${ack.error.message}`);
    const id = ack.data.id;
    const done = await waitFor(
      () => socketEvents.find((e) => e.event === 'task:done' && (e.payload as TaskView).id === id)?.payload as TaskView | undefined,
      `task:done for ${id}`,
      20_000,
    );
    return done;
  }

  const authOf = (prompt: string) =>
    env.provider
      .chatRequests()
      .filter((r) => lastUser((r.body as { messages: { role: string; content: string }[] }).messages) === prompt)
      .map((r) => r.headers['authorization']);

  it('sends the user key to the provider and never shows it on MQTT, in logs, in task records or events', async () => {
    const tasks: TaskView[] = [];

    // Socket.IO: the user's key, back to back so both workers run some.
    for (let i = 0; i < 4; i++) {
      const prompt = `socket question ${i}`;
      const t = await viaSocket(prompt, SOCKET_KEY);
      expect(t.status).toBe('succeeded');
      expect(authOf(prompt)).toEqual([`Bearer ${SOCKET_KEY}`]);
      tasks.push(t);
    }
    // Without a key of their own, the worker's configured key is used.
    const plain = await viaSocket('socket question without a key');
    expect(plain.status).toBe('succeeded');
    expect(authOf('socket question without a key')).toEqual([`Bearer ${WORKER_KEY}`]);
    tasks.push(plain);

    // A 429 is retried on another worker, which fetches the key again for its attempt.
    const retried = await viaSocket('[429-once] socket retry', SOCKET_KEY);
    expect(retried.status).toBe('succeeded');
    expect(retried.attempt).toBe(2);
    expect(authOf('[429-once] socket retry')).toEqual([`Bearer ${SOCKET_KEY}`, `Bearer ${SOCKET_KEY}`]);
    tasks.push(retried);

    // A key the provider refuses and quotes back: the failure says so, without the key.
    const refused = await viaSocket('socket question with a bad key', ECHOED_KEY);
    expect(refused.status).toBe('failed');
    expect(refused.attempt).toBe(1);
    expect(refused.error?.code).toBe('PROVIDER_AUTH');
    expect(refused.error?.message).toContain('HTTP 401');
    expect(refused.error?.message).toContain('[redacted]');
    tasks.push(refused);

    // The gateway: the key in X-Taskwire-Provider-Key, streamed and not.
    const client = new OpenAI({
      apiKey: CLUSTER_KEY,
      baseURL: `${env.httpUrl}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'X-Taskwire-Provider-Key': GATEWAY_KEY },
    });
    for (let i = 0; i < 4; i++) {
      const prompt = `gateway question ${i}`;
      let id: string;
      let text = '';
      if (i % 2 === 0) {
        const res = await client.chat.completions.create({ model: 'taskwire', messages: [{ role: 'user', content: prompt }] });
        id = res.id;
        text = res.choices[0]!.message.content ?? '';
      } else {
        const stream = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: prompt }], stream: true });
        id = '';
        for await (const chunk of stream) {
          id = chunk.id;
          text += chunk.choices[0]?.delta.content ?? '';
        }
      }
      expect(text).toBe(prompt);
      expect(authOf(prompt)).toEqual([`Bearer ${GATEWAY_KEY}`]);
      tasks.push(await getTask(env.httpUrl, taskIdOf(id), CLUSTER_KEY));
    }

    // Keys went through both kinds of worker.
    const keyed = tasks.filter((t) => t !== plain);
    expect(new Set(keyed.map((t) => t.worker_id))).toEqual(new Set([...env.inProcessIds, ...env.processIds]));

    // Let the last log lines reach the broker: the worker process forwards its
    // per-task log lines to MQTT, the last task's included.
    const lastId = tasks.at(-1)!.id;
    await waitFor(
      () => mqttRecords.some((r) => r.topic.includes('/logs/') && r.payload.toString('utf8').includes(lastId)),
      'the last task in the MQTT logs',
      10_000,
    );

    // MQTT: the capture saw the assignments, statuses and logs of this run...
    const text = (r: MqttRecord) => r.payload.toString('utf8');
    for (const t of tasks) {
      expect(mqttRecords.some((r) => r.topic.endsWith('/tasks') && text(r).includes(t.id)), `assignment of ${t.id} on MQTT`).toBe(true);
    }
    expect(mqttRecords.some((r) => r.retain && r.topic.endsWith('/status'))).toBe(true);
    expect(mqttRecords.some((r) => r.topic.includes('/logs/'))).toBe(true);
    // ...and no secret in any topic or payload.
    const onMqtt = mqttRecords.flatMap((r) => leaked(r.topic).concat(leaked(r.payload)).map((k) => `${k} in ${r.topic}`));
    expect(onMqtt).toEqual([]);

    // Logs: the captures hold this run's task logs, and no secret.
    const allLines = [
      ...masterLog.lines.map((l) => ({ where: 'master', l })),
      ...[...workerLogs].flatMap(([id, lines]) => lines.map((l) => ({ where: id, l }))),
      ...env.workerProcesses.flatMap((p) => p.lines.map((l) => ({ where: p.name, l: l.text }))),
    ];
    expect(masterLog.lines.length).toBeGreaterThan(0);
    for (const id of env.inProcessIds) expect(workerLogs.get(id)!.some((l) => /llm task finished/.test(l) && /"user_key":true/.test(l))).toBe(true);
    for (const p of env.workerProcesses) expect(p.lines.some((l) => /llm task finished/.test(l.text) && /"user_key":true/.test(l.text))).toBe(true);
    expect(allLines.flatMap(({ where, l }) => leaked(l).map((k) => `${k} in ${where}: ${l.slice(0, 200)}`))).toEqual([]);

    // REST task records, one by one and as a list, and what Socket.IO sent.
    for (const t of tasks) {
      const res = await fetch(`${env.httpUrl}/api/v1/tasks/${t.id}`, { headers: { authorization: `Bearer ${CLUSTER_KEY}` } });
      expect(res.status).toBe(200);
      expect(leaked(await res.text())).toEqual([]);
    }
    const list = await fetch(`${env.httpUrl}/api/v1/tasks?limit=1000`, { headers: { authorization: `Bearer ${CLUSTER_KEY}` } });
    expect(list.status).toBe(200);
    expect(leaked(await list.text())).toEqual([]);
    expect(socketEvents.length).toBeGreaterThan(tasks.length);
    expect(leaked(JSON.stringify(socketEvents))).toEqual([]);

    // The master forgot each key when its task ended.
    for (const t of tasks) expect(env.cluster.master.tasks.get(t.id)?.secrets).toBeNull();
  }, 120_000);
});
