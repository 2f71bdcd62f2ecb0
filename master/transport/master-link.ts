/**
 * The master's MQTT client: watches worker status, publishes assignments,
 * control commands, master presence (retained, with an OFFLINE Last Will),
 * cluster status and log lines. Every inbound payload is validated; a bad one
 * is counted and logged, never thrown.
 */
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { errorMessage } from '../../common/errors.js';
import type { LogLineSink, Logger } from '../../common/logger.js';
import { Topics } from '../../common/topics.js';
import { setNoDelayOnConnect } from '../../common/mqtt-socket.js';
import { waitForFirstConnect } from '../../common/mqtt-connect.js';
import {
  type Assignments,
  type ClusterStatus,
  type ControlCommand,
  type LogLine,
  type LogLine__Output,
  type MasterStatus,
  type TaskAssignment,
  type WorkerStatus__Output,
  assignmentsCodec,
  clusterStatusCodec,
  controlCodec,
  logLineCodec,
  MAX_MQTT_PAYLOAD_BYTES,
  masterStatusCodec,
  workerStatusCodec,
  workerStatusProblem,
} from '../../common/wire.js';
import type { AssignmentSink } from '../core/task-service.js';

export interface MasterLinkOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  topics: Topics;
  log: Logger;
  /** How long to wait for the broker at start (default 30 s). */
  connectTimeoutMs?: number;
  /** The retained presence message (state ONLINE); the Last Will is the same with OFFLINE. */
  presence: () => MasterStatus;
  /**
   * With the embedded broker: hands a message straight to it (no loopback
   * socket, no second encode/parse). Used for everything sent to workers
   * (assignments and control commands, in one order).
   */
  publishInProcess?: (topic: string, payload: Buffer, qos: 0 | 1) => void;
  /**
   * With the embedded broker: takes the worker statuses straight from it
   * (EmbeddedBroker.subscribe) instead of through this client's socket, a
   * PUBACK and a parse each (1,000 workers registering at once: a third of
   * the master's CPU). Resolves to the unsubscribe.
   */
  subscribeInProcess?: (filter: string, onMessage: (topic: string, payload: Buffer) => void) => Promise<() => void>;
  /** Also subscribe to `{root}/logs/#` and emit `logLine` (the log store). */
  subscribeLogs?: boolean;
  /**
   * Multi-master with one shared log (PostgreSQL): take the log lines through
   * the MQTT shared subscription `$share/taskwire-masters/…`, so the broker
   * hands each line to one master only and it is kept once.
   */
  shareLogs?: boolean;
  /** Multi-master: this master's ResultService (`host:port`), sent with every assignment (`result_target`). */
  resultTarget?: () => string;
}

export interface MasterLinkEvents {
  workerStatus: [status: WorkerStatus__Output];
  workerCleared: [workerId: string];
  /** A line on `{root}/logs/{source}` (the master's own included). */
  logLine: [source: string, line: LogLine__Output];
  invalid: [topic: string, reason: string];
  connected: [];
  disconnected: [];
}

export class MasterLink extends EventEmitter<MasterLinkEvents> implements AssignmentSink, LogLineSink {
  private constructor(
    private readonly client: MqttClient,
    private readonly options: MasterLinkOptions,
  ) {
    super();
  }

  get connected(): boolean {
    return this.client.connected;
  }

  static async create(options: MasterLinkOptions): Promise<MasterLink> {
    const { topics } = options;
    const offline: MasterStatus = { ...options.presence(), state: 'MASTER_STATE_OFFLINE' };
    const client = mqtt.connect(options.url, {
      clientId: options.clientId,
      username: options.username,
      password: options.password,
      protocolVersion: 4,
      clean: true,
      keepalive: 10,
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      resubscribe: true,
      will: { topic: topics.masterStatus(), payload: masterStatusCodec.encode(offline), qos: 1, retain: true },
    });
    setNoDelayOnConnect(client);
    const link = new MasterLink(client, options);
    client.on('message', (topic, payload) => link.onMessage(topic, payload));
    client.on('connect', () => {
      link.publishPresence();
      link.emit('connected');
    });
    client.on('close', () => link.emit('disconnected'));
    client.on('error', (err) => options.log.warn({ err: err.message }, 'MQTT error'));
    await waitForFirstConnect(client, options.url, options.connectTimeoutMs ?? 30_000, options.log);
    return link;
  }

  /**
   * Subscribe to the workers' statuses (and logs): call once the listeners are
   * attached. A worker that connected first has a retained status, and the
   * broker sends it in the same read as the SUBACK: it is emitted before an
   * `await` on the subscription returns, so a listener attached after it
   * would miss that worker until its next periodic status.
   */
  async listen(): Promise<void> {
    const { topics } = this.options;
    if (this.options.subscribeInProcess) this.unsubscribeInProcess ??= await this.options.subscribeInProcess(topics.allWorkerStatus(), (topic, payload) => this.onMessage(topic, payload));
    else await this.client.subscribeAsync(topics.allWorkerStatus(), { qos: 1 });
    if (this.options.subscribeLogs) await this.client.subscribeAsync(this.options.shareLogs ? `$share/taskwire-masters/${topics.allLogs()}` : topics.allLogs(), { qos: 0 });
  }

  private unsubscribeInProcess: (() => void) | undefined;

  /** Multi-master: this master's relay topic and its handler (master/cluster-relay/). */
  private relay: { topic: string; onMessage: (payload: Buffer) => void } | undefined;

  /** Multi-master: subscribes to this master's relay topic (QoS 1; again after a reconnect); its messages go to `onMessage`. */
  async listenRelay(topic: string, onMessage: (payload: Buffer) => void): Promise<void> {
    this.relay = { topic, onMessage };
    await this.client.subscribeAsync(topic, { qos: 1 });
  }

  /** Publishes to another master's relay topic (QoS 1); false, and nothing queued, while the broker is out of reach. */
  publishRelay(topic: string, payload: Buffer): boolean {
    if (!this.client.connected) return false;
    this.client.publish(topic, payload, { qos: 1 });
    return true;
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (this.relay !== undefined && topic === this.relay.topic) return this.relay.onMessage(payload);
    const parsed = this.options.topics.parse(topic);
    if (parsed?.kind === 'log') {
      try {
        this.emit('logLine', parsed.source, logLineCodec.decode(payload));
      } catch {
        this.emit('invalid', topic, 'invalid log line');
      }
      return;
    }
    if (!parsed || parsed.kind !== 'worker' || parsed.channel !== 'status') return;
    if (payload.length === 0) {
      this.emit('workerCleared', parsed.workerId);
      return;
    }
    try {
      const status = workerStatusCodec.decode(payload);
      if (status.worker_id !== parsed.workerId) {
        throw new Error(`worker_id "${status.worker_id}" does not match the topic's "${parsed.workerId}"`);
      }
      if (status.state === 'WORKER_STATE_UNSPECIFIED') throw new Error('state: must be set');
      const problem = workerStatusProblem(status);
      if (problem) throw new Error(problem);
      this.emit('workerStatus', status);
    } catch (err) {
      const reason = errorMessage(err);
      this.options.log.warn({ topic, reason }, 'invalid worker status dropped');
      this.emit('invalid', topic, reason);
    }
  }

  publishPresence(): void {
    this.client.publish(this.options.topics.masterStatus(), masterStatusCodec.encode(this.options.presence()), { qos: 1, retain: true });
  }

  /**
   * One message for the worker's assignments when it fits the MQTT payload
   * limit every worker enforces (MAX_MQTT_PAYLOAD_BYTES), else split in
   * halves, in order, until each fits: a worker drops a message over the
   * limit whole, and every task in it would be lost to heartbeat timeouts
   * (a round of four 1 MiB inputs is already one).
   */
  publishAssignments(workerId: string, tasks: TaskAssignment[]): void {
    const target = this.options.resultTarget?.();
    const payload = assignmentsCodec.encode({ tasks, master_id: this.options.clientId, ...(target && { result_target: target }) } satisfies Assignments);
    if (payload.length > MAX_MQTT_PAYLOAD_BYTES && tasks.length > 1) {
      const half = tasks.length >> 1;
      this.publishAssignments(workerId, tasks.slice(0, half));
      this.publishAssignments(workerId, tasks.slice(half));
      return;
    }
    if (payload.length > MAX_MQTT_PAYLOAD_BYTES) {
      this.options.log.error({ worker_id: workerId, task_id: tasks[0]?.task_id, bytes: payload.length, limit: MAX_MQTT_PAYLOAD_BYTES }, 'assignment larger than the MQTT payload limit; the worker will drop it (lower TASKWIRE_MAX_INPUT_BYTES)');
    }
    this.toWorker(this.options.topics.workerTasks(workerId), payload);
  }

  publishControl(workerId: string, command: ControlCommand): void {
    this.toWorker(this.options.topics.workerControl(workerId), controlCodec.encode(command));
  }

  private toWorker(topic: string, payload: Buffer): void {
    if (this.options.publishInProcess) this.options.publishInProcess(topic, payload, 1);
    else this.client.publish(topic, payload, { qos: 1 });
  }

  publishCluster(status: ClusterStatus): void {
    if (!this.client.connected) return;
    this.client.publish(this.options.topics.clusterStatus(), clusterStatusCodec.encode(status), { qos: 0, retain: true });
  }

  publishLog(line: LogLine): void {
    if (!this.client.connected) return;
    this.client.publish(this.options.topics.log(line.source ?? 'master'), logLineCodec.encode(line), { qos: 0 });
  }

  /** Publishes OFFLINE presence and disconnects. */
  async close(): Promise<void> {
    this.unsubscribeInProcess?.();
    this.unsubscribeInProcess = undefined;
    if (this.client.disconnected || this.client.disconnecting) return;
    if (this.client.connected) {
      const offline: MasterStatus = { ...this.options.presence(), state: 'MASTER_STATE_OFFLINE' };
      await this.client
        .publishAsync(this.options.topics.masterStatus(), masterStatusCodec.encode(offline), { qos: 1, retain: true })
        .catch(() => undefined);
    }
    await this.client.endAsync();
  }
}
