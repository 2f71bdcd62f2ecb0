/**
 * The master: wires broker, MQTT link, scheduler, gRPC ResultService, HTTP,
 * Socket.IO and metrics together. No logic of its own beyond lifecycle.
 */
import { join } from 'node:path';
import { Router } from 'express';
import { systemClock, type Clock } from '../common/clock.js';
import { createLogger, type Logger, type MqttLogStream } from '../common/logger.js';
import { PROTOCOL_VERSION } from '../common/proto-root.js';
import { ResultTokens } from '../common/result-token.js';
import { Topics } from '../common/topics.js';
import { type MasterOptions, type ResolvedMasterOptions, resolveMasterOptions, taskServiceOptions } from './config.js';
import type { EmbeddedBroker } from './transport/broker.js';
import type { BrokerPolicy } from './transport/broker-policy.js';
import { ClusterMonitor } from './observability/cluster-monitor.js';
import type { HttpServer } from './http/http-server.js';
import { bootstrapSecrets } from './store/cluster-secrets.js';
import type { LiveOutput } from './live-output/live-output.js';
import { ClusterRelay } from './cluster-relay/cluster-relay.js';
import { EventLog } from './events/event-log.js';
import { MemoryEventOutbox } from './events/event-outbox.js';
import { SqliteEventOutbox } from './events/sqlite-event-outbox.js';
import { LogCollector } from './logs/log-collector.js';
import { MemoryLogStore } from './logs/log-store.js';
import { SqliteLogStore } from './logs/sqlite-log-store.js';
import { logTenancy } from './logs/log-tenancy.js';
import type { SocketGateway } from './http/socket-gateway.js';
import { MasterLink } from './transport/master-link.js';
import { MasterMetrics } from './observability/metrics.js';
import type { ResultServer } from './transport/result-server.js';
import { BlobStore, type Blobs } from './blobs/blob-store.js';
import { BlobAccessGate } from './blobs/blob-access-gate.js';
import { BlobReadFeatures } from './blobs/blob-read-features.js';
import { BatchService } from './batches/batch-service.js';
import { openBatchStore } from './batches/open-batch-store.js';
import type { TaskStore } from './store/task-store.js';
import { openTaskStore } from './store/open-store.js';
import { openClusterStore, type PostgresCluster } from './store/postgres-cluster.js';
import type { PostgresTaskStore } from './store/postgres-task-store.js';
import { TaskService } from './core/task-service.js';
import { WorkerRegistry } from './scheduling/worker-registry.js';
import { TaskWatchers } from './core/task-watchers.js';
import { ResultIntake } from './core/result-intake.js';
import { MetricObserver } from './observability/metric-observer.js';
import { MasterTracing } from './observability/tracing/master-tracing.js';
import { PruneTimer } from './store/prune-timer.js';
import { feedPlacement, parsePlacementSpec, PlacementRouter } from './scheduling/placement/placement-router.js';
import { WaitEstimator } from './scheduling/wait-estimator.js';
import { Authenticator } from './http/auth/principal.js';
import { openTenancy } from './tenancy/tenancy.js';
import { openPostgresRooms, type PostgresRooms } from './postgres-rooms.js';
import { isPostgresUrl } from './store/postgres-url.js';
import type { KeyStore } from './tenancy/key-store.js';
import { redactUrl } from '../common/redact-url.js';
import { createAutoscaling } from './autoscaling/autoscaling.js';
import type { Autoscaler } from './autoscaling/autoscaler.js';
import type { RuntimeSettings } from './autoscaling/runtime-settings.js';
import type { DrainHost } from './autoscaling/process-actuator.js';
import type { ScalingActuator } from './autoscaling/scaling-actuator.js';
import { openLimits } from './limits/open-limits.js';
import type { AdmissionLimiter } from './limits/admission-limiter.js';
import type { LimiterStore } from './limits/limiter-store.js';
import { HeapGuard } from './observability/heap-guard.js';
import { type Billing, openBilling } from './billing/open-billing.js';
import { openEmbeddedBroker } from './open-embedded-broker.js';
import { openResultServer } from './open-result-server.js';
import { openMasterHttp } from './open-master-http.js';

export { findWebDir } from './find-web-dir.js';

export const VERSION = '0.1.0';

export type MasterState = 'starting' | 'running' | 'closing' | 'closed';

export interface MasterDeps {
  clock?: Clock;
  logger?: { logger: Logger; mqtt?: MqttLogStream };
  store?: TaskStore;
  brokerPolicy?: BrokerPolicy;
  /** Extra HTTP routers mounted by feature modules (gateway, KServe). */
  routes?: (master: Master) => { path: string; router: Router }[];
  /** The local actuator of autoscaling (`taskwire start --autoscale` forks worker processes). */
  localActuator?: (host: DrainHost) => ScalingActuator;
  /** Where OTEL_EXPORTER_OTLP_* are read (default process.env): traces are exported only when the endpoint is set. */
  tracingEnv?: Record<string, string | undefined>;
  /** Where a generated bootstrap admin key is shown once (default stdout; master/tenancy). */
  print?: (text: string) => void;
  /** Multi-master: this master lost its membership (default: exit the process, a supervisor starts a new one). */
  onClusterLost?: (err: Error) => void;
}

export class Master {
  state: MasterState = 'starting';
  readonly startedAtMs: number;
  broker: EmbeddedBroker | undefined;
  link!: MasterLink;
  results!: ResultServer;
  http!: HttpServer;
  sockets!: SocketGateway;
  httpPort = 0;
  mqttUrl = '';
  readonly topics: Topics;
  readonly registry: WorkerRegistry;
  readonly tasks: TaskService;
  /** Worker choice per kind and model, changeable at run time. */
  readonly placement: PlacementRouter;
  /** Worker counts per pool (master/autoscaling/) and the audited run-time settings. */
  autoscaler!: Autoscaler;
  settings!: RuntimeSettings;
  /** Queue-wait estimates per requirement (deadline admission, `eta_ms`). */
  readonly waitEstimator: WaitEstimator;
  readonly metrics: MasterMetrics;
  readonly monitor: ClusterMonitor;
  readonly watchers: TaskWatchers;
  readonly intake: ResultIntake;
  /** Images in and out (content-addressed), and the image batches over them. */
  blobs!: Blobs;
  /** The data dir's blob files, when the blobs are kept there (not with several masters on PostgreSQL). */
  private blobFiles: BlobStore | undefined;

  /** The directory of the blob store when blobs are files (not in multi mode): local workers read inputs from it. */
  get blobDir(): string | undefined {
    return this.blobFiles?.dir;
  }
  batches!: BatchService;
  readonly metricObserver: MetricObserver;
  /** OpenTelemetry traces of tasks (undefined unless OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  tracing: MasterTracing | undefined;
  readonly log: Logger;
  private readonly logStream: MqttLogStream | undefined;
  private readonly pruneTimer: PruneTimer;
  /** Starts a full collection when big payloads' garbage passes what the payload budgets hold live (observability/heap-guard.ts). */
  private readonly heapGuard: HeapGuard;
  /** The durable, resumable event stream (GET /api/v1/events). */
  readonly eventLog: EventLog;
  /** The master's and the workers' log lines, kept and searchable (GET /api/v1/logs). */
  readonly logs: LogCollector;
  /** Rate limits and quotas every submit passes (master/limits/). */
  readonly limits: AdmissionLimiter;
  private readonly limiterStore: LimiterStore;
  /** Tenants, users and API keys (master/tenancy), once started. */
  private keyStore: KeyStore | undefined;
  /** The usage ledger, prices and budgets (master/billing/). */
  readonly billing: Billing;
  /** Multi-master mode (TASKWIRE_MASTERS=multi): membership, leader, claims (store/postgres-cluster.ts). */
  cluster: PostgresCluster | undefined;
  /** Multi-master: chunks and ends of tasks between the master that runs them and the one with the clients (master/cluster-relay/). */
  relay: ClusterRelay | undefined;
  /** The streamed output of running tasks (GET /api/v1/tasks/:id/output). */
  liveOutput!: LiveOutput;

  private constructor(
    readonly options: ResolvedMasterOptions,
    private readonly clock: Clock,
    logger: { logger: Logger; mqtt?: MqttLogStream },
    readonly store: TaskStore,
    /** The rooms' tables on the task store's PostgreSQL (master/postgres-rooms.ts), when it is PostgreSQL. */
    private readonly pgRooms?: PostgresRooms,
  ) {
    this.startedAtMs = clock.now();
    this.metrics = new MasterMetrics({ tenantLabel: options.metricsTenantLabels === 'on' });
    this.log = logger.logger;
    this.logStream = logger.mqtt;
    this.topics = new Topics(options.topicRoot);
    this.registry = new WorkerRegistry(clock);
    this.placement = new PlacementRouter(parsePlacementSpec(options.placement), { slowStartMs: options.placementSlowStartMs, now: () => clock.now() });
    this.tasks = new TaskService(store, this.registry, new ResultTokens(options.resultSecret), clock, this.log, taskServiceOptions(options), {
      placement: this.placement,
    });
    this.waitEstimator = new WaitEstimator(this.tasks.events, this.registry, () => clock.now());
    this.tasks.useWaitEstimator(this.waitEstimator);
    ({ limiter: this.limits, store: this.limiterStore } = openLimits(options, this.tasks, () => clock.now(), this.log, pgRooms?.limits, pgRooms?.tenantSettings.room('limits')));
    this.billing = openBilling(options, this.tasks, () => clock.now(), this.metrics.registry, pgRooms?.usage, pgRooms && { tenantSettings: pgRooms.tenantSettings.room('budgets'), shared: pgRooms.budgetSpend });
    feedPlacement(this.tasks.events, this.placement);
    this.eventLog = new EventLog(
      this.tasks.events,
      pgRooms?.events ?? (options.dataDir ? new SqliteEventOutbox(join(options.dataDir, 'events.db')) : new MemoryEventOutbox()),
      this.log,
      () => clock.now(),
      { retentionMs: options.eventRetentionMs },
    );
    this.logs = new LogCollector(
      pgRooms?.logs ?? (options.dataDir
        ? new SqliteLogStore(join(options.dataDir, 'logs.db'), { maxBytes: options.logMaxBytes })
        : new MemoryLogStore({ maxBytes: Math.min(options.logMaxBytes, 32 * 1024 * 1024) })),
      { retentionMs: options.logRetentionMs, now: () => clock.now(), tenancy: logTenancy(this.tasks, this.registry) },
    );
    this.logStream?.attach(this.logs.tee(() => this.link));
    this.intake = new ResultIntake(this.tasks);
    this.metricObserver = new MetricObserver({
      metrics: this.metrics,
      events: this.tasks.events,
      rejections: this.tasks.rejections,
      registry: this.registry,
      queued: () => this.tasks.queue.size,
      running: () => this.tasks.runningCount(),
      queuedTasks: () => this.tasks.queue.values(),
      now: () => clock.now(),
      commits: 'onCommitted' in store ? (fn) => (store.onCommitted = fn) : undefined,
      socketClients: () => this.sockets?.io.engine.clientsCount ?? 0,
      eventFollowers: () => this.eventLog.followerCount,
    });
    this.monitor = new ClusterMonitor(options.masterId, this.tasks, this.registry, this.tasks.events, clock);
    this.pruneTimer = new PruneTimer(store, clock, this.log, { resultTtlMs: options.resultTtlMs });
    this.heapGuard = new HeapGuard({ largeObjectLimitBytes: options.cacheMaxBytes + 4 * options.maxUnfinishedBytes });
    this.watchers = new TaskWatchers(this.tasks);
  }

  static async create(options: MasterOptions = {}, deps: MasterDeps = {}): Promise<Master> {
    const resolved = resolveMasterOptions(options);
    const clock = deps.clock ?? systemClock;
    const logger =
      deps.logger ??
      createLogger({ source: 'master', level: resolved.logLevel, destination: resolved.logToStdout ? undefined : false });
    const onLost = deps.onClusterLost ?? (() => setTimeout(() => process.exit(75), 200));
    const multi = !deps.store && resolved.masters === 'multi' ? await openClusterStore(resolved, logger.logger, (err) => onLost(err)) : undefined;
    const store = deps.store ?? multi?.store ?? (await openTaskStore(resolved, logger.logger));
    bootstrapSecrets(store, resolved);
    const pgRooms = isPostgresUrl(resolved.store) ? await openPostgresRooms(resolved.store, { logMaxBytes: resolved.logMaxBytes, blobMaxBytes: resolved.maxBlobBytes }).catch(async (err) => { await store.close(); throw err; }) : undefined;
    const master = new Master(resolved, clock, logger, store, pgRooms);
    master.cluster = multi?.cluster;
    try {
      await master.start(deps);
    } catch (err) {
      await master.close();
      throw err;
    }
    return master;
  }

  /** The token workers present to the embedded broker (undefined with an external broker). */
  get clusterToken(): string | undefined {
    return this.options.clusterToken;
  }

  get grpcPort(): number {
    return this.results.port;
  }

  private async start(deps: MasterDeps): Promise<void> {
    const o = this.options;
    const { log, metrics, tasks, registry } = this;
    this.tracing = MasterTracing.fromEnv(deps.tracingEnv ?? process.env, tasks.events, log);
    // Restore before anything can submit (HTTP, Socket.IO) or report (gRPC): a
    // task accepted during start-up must not be replaced by a stale disk copy.
    const restored = tasks.restore(this.store.loadUnfinished(), this.store.maxSeq());
    if (restored.queued + restored.inFlight > 0) log.info(restored, 'restored unfinished tasks from the store');
    let mqttUsername = o.mqttUsername;
    let mqttPassword = o.mqttPassword;
    if (o.mqttUrl) {
      this.mqttUrl = o.mqttUrl;
    } else {
      const embedded = await openEmbeddedBroker(o, { topics: this.topics, policy: deps.brokerPolicy, log, onRefusal: (reason) => this.metrics.mqttRefusals.inc({ reason }) });
      ({ broker: this.broker, username: mqttUsername, password: mqttPassword } = embedded);
      this.mqttUrl = `mqtt://127.0.0.1:${embedded.broker.port}`;
    }
    // Several masters: one blob store in PostgreSQL, so an upload through one master is read through any.
    this.blobs = o.masters === 'multi' && this.pgRooms ? this.pgRooms.blobs : (this.blobFiles = new BlobStore({ dir: o.dataDir ? join(o.dataDir, 'blobs') : '', maxBytes: o.maxBlobBytes }));
    // Several masters share the batch store: each holds (restores, follows, writes) only the batches it made.
    this.batches = new BatchService(tasks, this.blobs, this.clock, log, { store: await openBatchStore(o), retentionMs: o.resultTtlMs, ...(o.masters === 'multi' && { master: o.masterId, watchers: this.watchers, events: this.eventLog, takeOverEveryMs: o.masterLeaseMs }) });
    const batches = await this.batches.restore();
    if (batches.unfinished > 0) log.info(batches, 'restored unfinished image batches');
    this.results = await openResultServer(o, { intake: this.intake, tasks, blobs: this.blobs, log, onInvalid: () => this.metricObserver.invalid('grpc') });

    // One principal for every surface: REST, gateway, KServe, /metrics, Socket.IO.
    const auth = new Authenticator(o.apiKeys);
    // Tenants and stored keys (master/tenancy): the Authenticator resolves them too; allow-lists checked at every submit.
    const tenancy = openTenancy({ persistence: this.pgRooms?.tenancy, dataDir: o.dataDir, adminKey: o.adminKey || undefined, apiKeys: o.apiKeys, clock: this.clock, print: deps.print }, auth);
    this.keyStore = tenancy.keys;
    tasks.useAllowLists((owner) => tenancy.keys.allowList(owner));
    tasks.useAdmissionGate(new BlobAccessGate(this.blobs, () => auth.required)); // an image task names a blob of its own tenant only
    tasks.useFeatureSource('image', new BlobReadFeatures(this.blobs)); // an image task needs the read feature of its input's format
    ({ autoscaler: this.autoscaler, settings: this.settings } = createAutoscaling({
      source: { queued: () => tasks.queue.values(), workers: () => registry.all() },
      events: tasks.events,
      placement: this.placement,
      drainHost: {
        drain: (id) => this.link?.publishControl(id, { action: 'CONTROL_ACTION_DRAIN' }),
        worker: (id) => {
          const w = registry.get(id);
          return w && { state: w.state, inFlight: w.inFlight.size };
        },
      },
      localActuator: deps.localActuator,
      registry: metrics.registry,
      log,
      now: () => this.clock.now(),
      dataDir: o.dataDir,
      dockerHost: o.dockerHost,
      intervalMs: o.autoscaleIntervalMs,
      initial: o.autoscale,
      sharedPlacement: this.pgRooms?.placement,
    }));
    // Multi-master: a kind served by another master's workers is accepted here too (it goes to the pool).
    tasks.useScaleFromZero((kind) => this.autoscaler.startsWorkersFor(kind) || (this.cluster?.shares?.serves(kind) ?? false));
    await openMasterHttp(this, { auth, keys: tenancy.keys, clock: this.clock, version: VERSION, extraRoutes: () => deps.routes?.(this) ?? [], print: deps.print });

    const broker = this.broker;
    this.link = await MasterLink.create({
      publishInProcess: broker ? (topic, payload, qos) => broker.publish(topic, payload, qos) : undefined,
      subscribeInProcess: broker ? (filter, onMessage) => broker.subscribe(filter, onMessage) : undefined,
      url: this.mqttUrl,
      username: mqttUsername,
      password: mqttPassword,
      clientId: o.masterId,
      subscribeLogs: true,
      shareLogs: o.masters === 'multi' && this.pgRooms !== undefined, // one shared log: each worker line to one master
      ...(this.cluster && { resultTarget: () => `${o.grpcAdvertiseHost}:${this.results.port}` }),
      topics: this.topics,
      log,
      presence: () => ({
        master_id: o.masterId,
        state: 'MASTER_STATE_ONLINE',
        protocol: PROTOCOL_VERSION,
        version: VERSION,
        grpc_host: o.grpcAdvertiseHost,
        grpc_port: this.results.port,
        http_port: this.httpPort,
        started_at_ms: this.startedAtMs,
        ts_ms: this.clock.now(),
      }),
    });
    const applyStatus = (s: Parameters<WorkerRegistry['applyStatus']>[0]) => {
      const before = registry.get(s.worker_id)?.state;
      const w = registry.applyStatus(s);
      if (before !== w.state) log.info({ worker_id: w.id, language: s.language, kinds: s.kinds }, `worker ${w.id} ${w.state}`);
    };
    // Multi-master: each master dispatches to its share of the workers (store/worker-shares.ts).
    this.cluster?.attach({ store: this.store as PostgresTaskStore, tasks, sink: this.link, applyStatus, watchers: this.watchers, sharedBlobs: this.blobFiles === undefined });
    if (this.cluster) {
      const standings = this.cluster.standings;
      this.sockets.useStandingsElsewhere((id) => standings.get(id));
    }
    const shares = this.cluster?.shares;
    this.link.on('workerStatus', (s) => (shares ? shares.onStatus(s) : applyStatus(s)));
    this.link.on('workerCleared', (id) => (shares?.forget(id), registry.forget(id)));
    this.link.on('invalid', () => this.metricObserver.invalid('mqtt'));
    this.link.on('logLine', (source, line) => this.logs.fromMqtt(source, line));
    await this.link.listen();
    if (this.cluster) {
      this.relay = await ClusterRelay.create({
        url: o.store, masterId: o.masterId, topics: this.topics, link: this.link, events: tasks.events, store: this.store, eventLog: this.eventLog, log,
        surfaces: { sockets: this.sockets, output: this.liveOutput, watchers: this.watchers, streamed: (id) => tasks.get(id)?.stream === true },
        liveMasters: () => this.cluster?.shares?.liveMasters,
      });
    }
    tasks.attachSink(this.tracing ? this.tracing.wrapSink(this.link) : this.link);
    this.pruneTimer.start();
    this.monitor.start(o.clusterStatusIntervalMs, (s) => this.link.publishCluster(s));
    this.autoscaler.start();
    this.state = 'running';
    log.info({ http_port: this.httpPort, grpc_port: this.results.port, mqtt: redactUrl(this.mqttUrl) }, 'master running');
  }

  /** Stops everything; idempotent. In-flight tasks stay with their workers. */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.monitor.stop();
    // Local autoscaled workers stop with their master; a Swarm service keeps its replicas.
    await this.autoscaler?.stop(true);
    this.tasks.stop();
    await this.batches?.close().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not write the image batches'));
    this.pruneTimer.stop();
    this.heapGuard.stop();
    this.metricObserver.stop();
    this.logStream?.attach(undefined);
    const steps: [string, (() => Promise<void>) | undefined][] = [
      ['relay', this.relay ? () => this.relay!.close() : undefined],
      ['socket.io', this.sockets ? () => this.sockets.close() : undefined],
      ['http', this.http ? () => this.http.close() : undefined],
      ['mqtt', this.link ? () => this.link.close() : undefined],
      ['grpc', this.results ? () => this.results.close() : undefined],
      ['broker', this.broker ? () => this.broker!.close() : undefined],
      ['events', () => this.eventLog.close()],
      ['logs', () => this.logs.close()],
      ['limits', async () => (this.limits.close(), this.limiterStore.close())],
      ['billing', async () => this.billing.close()],
      ['tracing', this.tracing ? () => this.tracing!.close() : undefined],
      ['tenancy', this.keyStore ? async () => this.keyStore!.close() : undefined],
      ['postgres rooms', this.pgRooms ? () => this.pgRooms!.close() : undefined],
      ['store', () => this.store.close()],
      ['cluster', this.cluster ? () => this.cluster!.close() : undefined],
      ['blobs', this.blobFiles && !this.options.dataDir ? () => this.blobFiles!.destroy() : undefined],
    ];
    for (const [name, step] of steps) {
      if (!step) continue;
      try {
        await step();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, `closing ${name} failed`);
      }
    }
    this.state = 'closed';
  }
}
