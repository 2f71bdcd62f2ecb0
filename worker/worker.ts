/**
 * A taskwire worker: connects to the broker with an OFFLINE Last Will,
 * subscribes to its own tasks and control topics, announces itself with a
 * retained ONLINE status (self-registration), runs assignments with its
 * handlers and reports results over gRPC.
 */
import { writeFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import { TaskwireError, errorMessage } from '../common/errors.js';
import { createLogger, type Logger, type MqttLogStream } from '../common/logger.js';
import { PROTOCOL_VERSION } from '../common/proto-root.js';
import { Topics } from '../common/topics.js';
import { setNoDelayOnConnect } from '../common/mqtt-socket.js';
import { CREDENTIALS_HINT, reconnectWithBackoff, waitForFirstConnect } from '../common/mqtt-connect.js';
import {
  type LogLine,
  type WorkerStatus,
  assignmentsCodec,
  controlCodec,
  logLineCodec,
  masterStatusCodec,
  workerStatusCodec,
} from '../common/wire.js';
import { type ResolvedWorkerOptions, type WorkerOptions, redactUrl, resolveWorkerOptions } from './config.js';
import { EchoHandler } from './handlers/echo.js';
import { SleepHandler } from './handlers/sleep.js';
import type { TaskHandler } from './handlers/task-handler.js';
import { handlerFeatures } from './handlers/handler-features.js';
import { ResultRoutes } from './result-routes.js';
import { TaskRunner } from './task-runner.js';
import type { BlobSource } from './blob-client.js';
import { hostLoad } from './host-load.js';
import { WorkerMetrics } from './metrics-registry.js';
import { WorkerMetricsServer } from './metrics-server.js';
import { WorkerObservability } from './worker-observability.js';

export const WORKER_VERSION = '0.1.0';

function withTimeout<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!p) return Promise.resolve(undefined);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

/** What a handler with a model repository offers to the control topic. */
interface ModelControl {
  loadModel(name: string, version?: string): Promise<void>;
  unloadModel(name: string, version?: string): Promise<void>;
}

function hasModelControl(h: TaskHandler): h is TaskHandler & ModelControl {
  const c = h as Partial<ModelControl>;
  return typeof c.loadModel === 'function' && typeof c.unloadModel === 'function';
}

export type WorkerLifecycleState = 'starting' | 'online' | 'draining' | 'closing' | 'closed';

export interface WorkerDeps {
  logger?: { logger: Logger; mqtt?: MqttLogStream };
  /** Extra handlers (llm, infer, ocr, ...) next to the built-in echo and sleep. */
  handlers?: TaskHandler[];
  /**
   * The broker refused this worker after it was online (credentials changed):
   * it cannot work any more. Default: log it; the CLI exits non-zero.
   */
  onFatal?: (err: TaskwireError) => void;
  /** Where OTEL_EXPORTER_OTLP_* (and PATH for nvidia-smi) are read; default process.env. */
  tracingEnv?: Record<string, string | undefined>;
}

export class Worker {
  state: WorkerLifecycleState = 'starting';
  readonly id: string;
  readonly log: Logger;
  readonly startedAtMs = Date.now();
  readonly handlers = new Map<string, TaskHandler>();
  readonly reporter: ResultRoutes;
  readonly runner: TaskRunner;
  readonly invalidMessages = { count: 0 };
  /** This worker's own metrics (with metricsPort set or the status summary on). */
  readonly metrics: WorkerMetrics | undefined;
  /** Metrics summary, GPU, model readiness, tracing. */
  readonly observability: WorkerObservability;
  private metricsServer: WorkerMetricsServer | undefined;
  private client!: MqttClient;
  private readonly topics: Topics;
  private statusTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private statusScheduled = false;
  private readonly logStream: MqttLogStream | undefined;
  private readonly onFatal: (err: TaskwireError) => void;
  /** Settled by the first announce: refused subscriptions reject it. */
  private firstAnnounce: { resolve: () => void; reject: (err: Error) => void } | undefined;
  /** The port of this worker's /metrics (undefined when off). */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }
  /** performance.now() of the last MQTT (re)connect (benchmarks). */
  connectedAtPerf = 0;

  private constructor(readonly options: ResolvedWorkerOptions, deps: WorkerDeps) {
    this.id = options.workerId;
    const logger = deps.logger ?? createLogger({ source: this.id, level: options.logLevel, destination: options.logToStdout ? undefined : false });
    this.log = logger.logger;
    this.logStream = logger.mqtt;
    this.onFatal = deps.onFatal ?? ((err) => this.log.error({ code: err.code }, err.message));
    this.topics = new Topics(options.topicRoot);
    const all: TaskHandler[] = [new EchoHandler(), new SleepHandler(), ...(deps.handlers ?? [])];
    for (const h of all) {
      if (options.kinds && !options.kinds.includes(h.kind)) continue;
      this.handlers.set(h.kind, h);
      h.onChange?.(() => this.scheduleStatus());
    }
    this.reporter = new ResultRoutes({ log: this.log });
    // The retained status says how many attempts run now: re-publish (coalesced) when that changes.
    const metrics = options.metricsPort !== undefined || options.metricsSummary ? new WorkerMetrics({ worker_id: this.id }) : undefined;
    this.metrics = metrics;
    this.observability = new WorkerObservability({
      workerId: this.id,
      metrics,
      summary: options.metricsSummary,
      models: () => [...this.handlers.values()].flatMap((h) => h.models?.() ?? []),
      modelLoads: () => [...this.handlers.values()].flatMap((h) => h.modelLoads?.() ?? []),
      env: deps.tracingEnv ?? process.env,
      log: this.log,
    });
    metrics?.capacity.set(options.capacity);
    this.runner = new TaskRunner(this.id, this.handlers, this.reporter, this.log, {
      onChange: (running) => {
        metrics?.setRunning(running);
        this.scheduleStatus();
      },
      onFinished: metrics ? (kind, outcome, seconds, code) => metrics.attempt(kind, outcome, seconds, code) : undefined,
    }, this.observability.telemetry);
    const cells = metrics && { local: metrics.blobFetches.cell({ source: 'local' }), master: metrics.blobFetches.cell({ source: 'master' }) };
    if (options.blobDir && metrics) for (const source of ['local', 'master'] as const) metrics.blobFetches.zero({ source });
    if (options.blobDir || cells) {
      this.runner.blobAccess = { ...(options.blobDir && { dir: options.blobDir }), ...(cells && { onRead: (source: BlobSource) => void cells[source].value++ }) };
    }
  }

  static async create(options: WorkerOptions = {}, deps: WorkerDeps = {}): Promise<Worker> {
    const worker = new Worker(resolveWorkerOptions(options), deps);
    try {
      await worker.start();
    } catch (err) {
      await worker.close();
      throw err;
    }
    return worker;
  }

  /** `withSummary`: carry the metrics summary (the periodic and the connect status do; the coalesced running-count updates leave it out, the master keeps the last). */
  status(state: WorkerStatus['state'] = this.state === 'draining' ? 'WORKER_STATE_DRAINING' : 'WORKER_STATE_ONLINE', reason = '', withSummary = true): WorkerStatus {
    const models = [...this.handlers.values()].flatMap((h) => h.models?.() ?? []);
    return {
      worker_id: this.id,
      state,
      kinds: [...this.handlers.keys()].sort(),
      capacity: this.options.capacity,
      running: this.runner.size,
      language: 'typescript',
      version: WORKER_VERSION,
      protocol: PROTOCOL_VERSION,
      hostname: hostname(),
      pid: process.pid,
      started_at_ms: this.startedAtMs,
      ts_ms: Date.now(),
      models,
      labels: this.options.labels,
      features: [...this.handlers.values()].flatMap(handlerFeatures),
      reason,
      load: hostLoad(),
      ...(withSummary && this.observability.summary ? { metrics: this.observability.summary } : {}),
    };
  }

  private async start(): Promise<void> {
    await this.observability.refresh();
    if (this.metrics && this.options.metricsPort !== undefined) this.metricsServer = await WorkerMetricsServer.start(this.metrics.registry, this.options.metricsPort!, this.options.metricsHost);
    const o = this.options;
    const topics = this.topics;
    this.client = mqtt.connect(o.mqttUrl, {
      clientId: this.id,
      username: o.mqttUsername,
      password: o.mqttPassword,
      protocolVersion: 4,
      clean: true,
      keepalive: 10,
      reconnectPeriod: 500, // grows with jitter while the broker is unreachable (reconnectWithBackoff)
      connectTimeout: 10_000,
      resubscribe: false, // we (re)subscribe before announcing ONLINE
      will: {
        topic: topics.workerStatus(this.id),
        payload: workerStatusCodec.encode(this.status('WORKER_STATE_OFFLINE', 'connection lost')),
        qos: 1,
        retain: true,
      },
    });
    setNoDelayOnConnect(this.client);
    const safeUrl = redactUrl(o.mqttUrl);
    reconnectWithBackoff(this.client, { url: safeUrl, log: this.log });
    const announced = new Promise<void>((resolve, reject) => (this.firstAnnounce = { resolve, reject }));
    announced.catch(() => undefined);
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.client.on('connect', () => {
      this.connectedAtPerf = performance.now();
      void this.announce();
    });
    this.client.on('error', (err: Error & { code?: number | string }) => {
      // Refused credentials on a reconnect (the cluster token changed): retrying cannot help.
      if (this.state !== 'starting' && (err.code === 4 || err.code === 5 || err.code === 134 || err.code === 135)) {
        this.refused(new TaskwireError('UNAUTHENTICATED', `the MQTT broker at ${safeUrl} refused our credentials on reconnect (${err.message}): ${CREDENTIALS_HINT}`));
        return;
      }
      // Unreachable-broker errors are logged (sampled) by reconnectWithBackoff.
      if (this.client.connected) this.log.warn({ err: err.message }, 'MQTT error');
    });
    await waitForFirstConnect(this.client, safeUrl, o.connectTimeoutMs, this.log, { logRetries: false });
    await announced;
    if (o.grpcTarget) this.reporter.setTarget(o.grpcTarget);
    this.state = 'online';
    this.logStream?.attach({ publishLog: (line: LogLine) => this.publishLog(line) });
    this.statusTimer = setInterval(() => void this.observability.refresh().then(() => this.publishStatus()), o.statusIntervalMs);
    this.statusTimer.unref();
    this.healthTimer = setInterval(() => void this.writeHealth(), 5000);
    this.healthTimer.unref();
    await this.writeHealth();
    this.log.info({ mqtt: safeUrl, kinds: [...this.handlers.keys()], capacity: o.capacity }, 'worker online');
  }

  /** On every (re)connect: subscribe first, then announce, so no assignment is missed. */
  private async announce(): Promise<void> {
    const t = this.topics;
    try {
      const granted = await this.client.subscribeAsync(
        { [t.workerTasks(this.id)]: { qos: 1 }, [t.workerControl(this.id)]: { qos: 1 }, [t.masterStatus()]: { qos: 1 } },
      );
      const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
      if (refused.length > 0) {
        // Connected, but not as a worker (e.g. anonymous read-only access on localhost):
        // publishing our status would only be refused and drop the connection.
        this.refused(
          new TaskwireError(
            'FORBIDDEN',
            `the MQTT broker at ${redactUrl(this.options.mqttUrl)} accepted the connection but refused this worker's subscriptions (${refused.join(', ')}): ` +
              `it did not log us in as a worker (${this.options.mqttPassword === undefined ? 'no credentials given' : `credentials of user "${this.options.mqttUsername}" not allowed`}). ${CREDENTIALS_HINT}`,
          ),
        );
        return;
      }
      if (this.state === 'starting') this.state = 'online';
      if (!this.firstAnnounce) {
        this.publishStatus();
        return;
      }
      // The first status is confirmed: a broker that lets us connect and read but not
      // publish as a worker (anonymous read-only access) drops the connection instead.
      let onClose: (() => void) | undefined;
      const closed = new Promise<'closed'>((r) => this.client.once('close', (onClose = () => r('closed'))));
      const acked = this.client.publishAsync(this.topics.workerStatus(this.id), workerStatusCodec.encode(this.status()), { qos: 1, retain: true }).then(() => 'acked' as const);
      const outcome = await Promise.race([acked, closed]);
      this.client.off('close', onClose!);
      if (outcome === 'closed') {
        this.refused(
          new TaskwireError(
            'FORBIDDEN',
            `the MQTT broker at ${redactUrl(this.options.mqttUrl)} closed the connection when this worker published its status: it did not log us in as a worker (${this.options.mqttPassword === undefined ? 'no credentials given, so we connected as a read-only anonymous client' : `credentials of user "${this.options.mqttUsername}" not allowed to publish`}). ${CREDENTIALS_HINT}`,
          ),
        );
        return;
      }
      this.firstAnnounce?.resolve();
      this.firstAnnounce = undefined;
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'subscribe failed');
    }
  }

  private refused(err: TaskwireError): void {
    this.client.options.reconnectPeriod = 0; // retrying with the same credentials cannot help
    this.client.end(true);
    if (this.firstAnnounce) {
      this.firstAnnounce.reject(err);
      this.firstAnnounce = undefined;
      return;
    }
    this.onFatal(err);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const parsed = this.topics.parse(topic);
    if (!parsed) return;
    try {
      if (parsed.kind === 'master-status') {
        if (payload.length === 0) return;
        const m = masterStatusCodec.decode(payload);
        if (m.state === 'MASTER_STATE_ONLINE' && !this.options.grpcTarget && m.grpc_port > 0) {
          const host = m.grpc_host || new URL(this.options.mqttUrl).hostname;
          this.reporter.setTarget(`${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${m.grpc_port}`);
        }
        return;
      }
      if (parsed.kind !== 'worker' || parsed.workerId !== this.id) return;
      if (parsed.channel === 'tasks') {
        const { tasks, result_target: target } = assignmentsCodec.decode(payload);
        if (tasks.length === 0) throw new Error('tasks: an Assignments message carries at least one task');
        if (target && !/^[^\s/]*:\d{1,5}$/.test(target)) throw new Error('result_target: expected host:port');
        for (const a of tasks) {
          if (!a.task_id || !a.kind || !a.result_token || a.attempt < 1) {
            throw new Error('assignment without task_id, kind, attempt or result_token');
          }
        }
        if (target) {
          // Multi-master: this message's master takes these attempts' results (":port": the broker's host).
          const host = target.startsWith(':') ? new URL(this.options.mqttUrl).hostname : '';
          for (const a of tasks) this.reporter.route(a.task_id, a.attempt, `${host}${target}`);
        }
        for (const a of tasks) this.runner.start(a);
        this.scheduleStatus();
      } else if (parsed.channel === 'control') {
        const c = controlCodec.decode(payload);
        if (c.action === 'CONTROL_ACTION_UNSPECIFIED') throw new Error('action: must be set');
        this.onControl(c.action, c.task_id, c.attempt, c.reason, c.model_name, c.model_version);
      }
    } catch (err) {
      this.invalidMessages.count++;
      this.log.warn({ topic, reason: errorMessage(err) }, 'invalid message dropped');
    }
  }

  private onControl(action: string, taskId: string, attempt: number, reason: string, modelName = '', modelVersion = ''): void {
    switch (action) {
      case 'CONTROL_ACTION_LOAD_MODEL':
      case 'CONTROL_ACTION_UNLOAD_MODEL': {
        // The handler that owns a model repository, whatever its kind is called.
        const infer = [...this.handlers.values()].find(hasModelControl);
        if (!infer || !modelName) {
          this.log.warn({ action, model: modelName }, 'model control ignored: no model repository or no model name');
          break;
        }
        const op = action === 'CONTROL_ACTION_LOAD_MODEL' ? infer.loadModel(modelName, modelVersion || undefined) : infer.unloadModel(modelName, modelVersion || undefined);
        op.then(
          () => this.log.info({ model: modelName, version: modelVersion }, action === 'CONTROL_ACTION_LOAD_MODEL' ? 'model loaded' : 'model unloaded'),
          (err: unknown) => this.log.error({ model: modelName, err: errorMessage(err) }, 'model control failed'),
        );
        break;
      }
      case 'CONTROL_ACTION_CANCEL':
        if (!this.runner.cancel(taskId, attempt, reason)) this.log.debug({ task_id: taskId }, 'cancel for a task not running here');
        break;
      case 'CONTROL_ACTION_DRAIN':
        if (this.state === 'online') {
          this.state = 'draining';
          this.publishStatus();
        }
        break;
      case 'CONTROL_ACTION_RESUME':
        if (this.state === 'draining') {
          this.state = 'online';
          this.publishStatus();
        }
        break;
      default:
        this.log.debug({ action }, 'control action not supported by this worker');
    }
  }

  /** Coalesces status re-publication (running count, model changes). */
  private scheduleStatus(): void {
    if (this.statusScheduled) return;
    this.statusScheduled = true;
    setTimeout(() => {
      this.statusScheduled = false;
      this.publishStatus(false);
    }, 250).unref();
  }

  private publishStatus(withSummary = true): void {
    if (!this.client.connected || this.state === 'closing' || this.state === 'closed') return;
    this.client.publish(this.topics.workerStatus(this.id), workerStatusCodec.encode(this.status(undefined, undefined, withSummary)), { qos: 1, retain: true });
  }

  private publishLog(line: LogLine): void {
    if (this.client?.connected) this.client.publish(this.topics.log(this.id), logLineCodec.encode(line), { qos: 0 });
  }

  private async writeHealth(): Promise<void> {
    const body = JSON.stringify({ worker_id: this.id, state: this.state, mqtt: this.client?.connected ?? false, running: this.runner.size, ts_ms: Date.now() });
    await writeFile(this.options.healthFile, body).catch(() => undefined);
  }

  /**
   * Graceful stop: announce DRAINING, let running tasks finish (up to the
   * grace period), hand back the rest, deliver results, publish OFFLINE.
   */
  async close(graceMs = this.options.shutdownGraceMs): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    const wasStarted = this.client !== undefined;
    this.state = 'draining';
    if (wasStarted) this.publishStatus();
    this.state = 'closing';
    clearInterval(this.statusTimer);
    clearInterval(this.healthTimer);
    await this.runner.shutdown(graceMs);
    await this.reporter.close(Math.max(1000, Math.min(graceMs, 5000)));
    this.logStream?.attach(undefined);
    if (wasStarted) {
      if (this.client.connected) {
        await this.client
          .publishAsync(this.topics.workerStatus(this.id), workerStatusCodec.encode(this.status('WORKER_STATE_OFFLINE', 'shutdown')), { qos: 1, retain: true })
          .catch(() => undefined);
      }
      // A client still trying to reconnect (broker gone) must not keep us alive.
      await withTimeout(this.client.endAsync(!this.client.connected).catch(() => undefined), 2000);
    }
    for (const h of this.handlers.values()) await withTimeout(h.close?.().catch(() => undefined), 5000);
    await this.metricsServer?.close();
    await this.observability.close();
    await rm(this.options.healthFile, { force: true });
    this.state = 'closed';
  }
}
