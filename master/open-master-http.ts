/**
 * The master's HTTP side as master.ts wires it: the REST router and the
 * routers mounted before it, the OpenAI-compatible gateway and KServe, the
 * HTTP server, Socket.IO (with the `/events` namespace), listening, and the
 * exposure warning. Each part is set on the master as soon as it exists, so a
 * failed start closes what was opened.
 */
import type { Router } from 'express';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { PROTOCOL_VERSION } from '../common/proto-root.js';
import type { ResolvedMasterOptions } from './config.js';
import { findWebDir } from './find-web-dir.js';
import type { ClusterMonitor } from './observability/cluster-monitor.js';
import { HttpServer } from './http/http-server.js';
import { restApi } from './http/rest-api.js';
import { eventRoutes } from './http/event-routes.js';
import { operatorRoutes } from './http/operator-routes.js';
import { submitBodyGuard } from './http/submit-body-guard.js';
import { dashboardRoutes } from './http/dashboard-routes.js';
import { LiveOutput } from './live-output/live-output.js';
import { outputRoutes } from './live-output/output-routes.js';
import { WorkerStats } from './observability/worker-stats.js';
import type { EventLog } from './events/event-log.js';
import type { LogCollector } from './logs/log-collector.js';
import { logRoutes } from './http/log-routes.js';
import { taskSearchRoutes } from './http/task-search-routes.js';
import { openApiRoutes } from './http/openapi.js';
import { attachEventNamespace } from './http/socket-events.js';
import { SocketGateway } from './http/socket-gateway.js';
import type { MasterLink } from './transport/master-link.js';
import type { MasterMetrics } from './observability/metrics.js';
import type { Blobs } from './blobs/blob-store.js';
import type { BatchService } from './batches/batch-service.js';
import { blobRoutes } from './http/blob-routes.js';
import type { TaskStore } from './store/task-store.js';
import type { PostgresCluster } from './store/postgres-cluster.js';
import type { TaskService } from './core/task-service.js';
import type { WorkerRegistry } from './scheduling/worker-registry.js';
import type { TaskWatchers } from './core/task-watchers.js';
import type { MetricObserver } from './observability/metric-observer.js';
import type { MasterTracing } from './observability/tracing/master-tracing.js';
import { gatewayTasks } from './http/gateway-tasks.js';
import { createOpenAiGateway } from './http/openai-gateway.js';
import type { Authenticator } from './http/auth/principal.js';
import { adminRoutes } from './tenancy/admin-routes.js';
import { adminAudit } from './tenancy/admin-audit.js';
import type { KeyStore } from './tenancy/key-store.js';
import { systemRoutes } from './http/system-routes.js';
import { warnIfExposed } from './http/auth/exposure-warning.js';
import { SessionIds } from './http/auth/session-ids.js';
import { createKserveApi } from './http/kserve-api.js';
import { kserveBackend } from './http/kserve-backend.js';
import type { Autoscaler } from './autoscaling/autoscaler.js';
import type { RuntimeSettings } from './autoscaling/runtime-settings.js';
import { scalingRoutes } from './http/scaling-routes.js';
import type { AdmissionLimiter } from './limits/admission-limiter.js';
import { limitRoutes } from './limits/limit-routes.js';
import type { Billing } from './billing/open-billing.js';
import { usageRoutes } from './billing/usage-routes.js';
import { tenantBudgetRoutes } from './billing/tenant-budget-routes.js';

/** What the HTTP side reads of the master (read when used, as the master's own fields), and the parts it sets on it. */
export interface MasterHttpHost {
  readonly options: ResolvedMasterOptions;
  readonly state: string;
  readonly log: Logger;
  readonly metrics: MasterMetrics;
  readonly tasks: TaskService;
  readonly registry: WorkerRegistry;
  readonly store: TaskStore;
  readonly monitor: ClusterMonitor;
  readonly watchers: TaskWatchers;
  readonly metricObserver: MetricObserver;
  readonly eventLog: EventLog;
  readonly logs: LogCollector;
  readonly limits: AdmissionLimiter;
  readonly billing: Billing;
  readonly blobs: Blobs;
  readonly batches: BatchService;
  readonly autoscaler: Autoscaler;
  readonly settings: RuntimeSettings;
  readonly tracing: MasterTracing | undefined;
  readonly cluster: PostgresCluster | undefined;
  readonly link: MasterLink | undefined;
  liveOutput: LiveOutput;
  http: HttpServer;
  sockets: SocketGateway;
  httpPort: number;
}

export interface MasterHttpParts {
  /** The one principal of every surface (REST, gateway, KServe, /metrics, Socket.IO). */
  auth: Authenticator;
  keys: KeyStore;
  clock: Clock;
  version: string;
  /** Extra routers of feature modules (MasterDeps.routes), mounted after the REST API. */
  extraRoutes: () => { path: string; router: Router }[];
  print: ((text: string) => void) | undefined;
}

/** Builds the HTTP and Socket.IO surfaces on `m` and listens; resolves once the HTTP server listens. */
export async function openMasterHttp(m: MasterHttpHost, parts: MasterHttpParts): Promise<void> {
  const o = m.options;
  const { log, metrics, tasks, registry } = m;
  const { auth, version } = parts;
  const system = systemRoutes({
    // A store that can no longer keep writes makes /healthz 503 (state store_failed).
    state: () => ({ state: m.store.failure?.() ? 'store_failed' : m.state, mqttConnected: m.link?.connected ?? false }),
    workersOnline: () => registry.schedulable().length,
    version,
    protocol: PROTOCOL_VERSION,
    metrics: metrics.registry,
    beforeScrape: () => m.metricObserver.refresh(),
  });
  const rest = restApi({ tasks, registry, cluster: (tenant) => m.monitor.view(tenant), poolStanding: (id) => m.cluster?.standings.one(id) ?? Promise.resolve(undefined) });
  rest.use(eventRoutes(m.eventLog, auth));
  rest.use(logRoutes(m.logs, auth));
  rest.use(openApiRoutes(version));
  const audit = adminAudit(tasks.events, log); // admin changes as config.changed events
  rest.use(limitRoutes(m.limits, audit, parts.keys));
  rest.use(usageRoutes(m.billing, () => parts.clock.now(), audit));
  rest.use(tenantBudgetRoutes(m.billing, audit, parts.keys)); // a tenant admin's own budgets
  rest.use(dashboardRoutes(tasks));
  m.liveOutput = new LiveOutput(tasks.events, (id) => tasks.get(id));
  rest.use(outputRoutes(m.liveOutput, tasks, auth, m.cluster ? m.store : undefined));
  rest.use(blobRoutes({ blobs: m.blobs, batches: m.batches, maxPixels: o.imageMaxPixels }));
  m.http = HttpServer.create({
    host: o.httpHost,
    port: o.httpPort,
    auth,
    openRoutes: o.openRoutes,
    webDir: o.webDir || findWebDir(),
    maxBodyBytes: o.maxInputBytes + 64 * 1024,
    preRoutes: [
      ...(m.tracing ? [{ path: '/', router: m.tracing.router() }] : []),
      { path: '/api/v1', router: submitBodyGuard(tasks.budget) }, // a submit past the caller's payload budget: 429 before its body is parsed
      { path: '/', router: createOpenAiGateway(gatewayTasks(tasks, m.watchers, registry, () => m.cluster?.shares?.online()), { auth, maxBodyBytes: o.maxInputBytes + 64 * 1024 }) },
      { path: '/', router: createKserveApi(kserveBackend(tasks, m.watchers, registry, () => m.state === 'running'), { serverVersion: version }) },
    ],
    routes: [
      { path: '/', router: system },
      // Before `rest`: GET /tasks with filters, full-text search and cursor pages (a superset), and /tasks/export.
      { path: '/api/v1', router: taskSearchRoutes(m.store) },
      // Before `rest`: its GET /workers is the richer operator view (a superset).
      { path: '/api/v1', router: operatorRoutes({ tasks, registry, stats: new WorkerStats(tasks.events), control: (id, action) => m.link?.publishControl(id, { action }), now: () => parts.clock.now() }) },
      { path: '/api/v1', router: scalingRoutes({ settings: m.settings, autoscaler: m.autoscaler }) },
      { path: '/api/v1', router: adminRoutes({ keys: parts.keys, auth, print: parts.print, audit }) },
      { path: '/api/v1', router: rest },
      ...parts.extraRoutes(),
    ],
  });
  m.sockets = new SocketGateway({
    httpServer: m.http.server,
    tasks,
    registry,
    cluster: (tenant) => m.monitor.view(tenant),
    log,
    maxBufferBytes: o.maxInputBytes + 64 * 1024,
    maxInputBytes: o.maxInputBytes,
    onInvalid: () => m.metricObserver.invalid('socket.io'),
    auth,
    allowedOrigins: o.allowedOrigins,
    sessions: new SessionIds({ secret: o.resultSecret, idleMs: o.sessionIdleMs, clock: parts.clock }),
  });
  m.tracing?.attachSocketIo(m.sockets.io);
  // The event stream over Socket.IO too: namespace /events with its own auth chain.
  attachEventNamespace(m.sockets.io as unknown as Parameters<typeof attachEventNamespace>[0], m.eventLog, auth);
  m.httpPort = await m.http.listen(o.httpHost, o.httpPort);
  warnIfExposed(o.httpHost, auth.required, log);
}
