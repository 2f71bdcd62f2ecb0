/**
 * Master configuration: MasterOptions (all optional, documented defaults),
 * DEFAULTS, resolveMasterOptions() -> ResolvedMasterOptions (all required,
 * validated). The CLI reads them from the environment with
 * masterOptionsFromEnv() (master-options-from-env.ts).
 */
import { hostname } from 'node:os';
import { ConfigError } from '../common/errors.js';
import { assertPort, parseMqttUrl } from '../common/env.js';
import type { LogLevel } from '../common/logger.js';
import { DEFAULT_TOPIC_ROOT, assertTopicRoot, ID_PATTERN } from '../common/topics.js';
import type { AnonymousRead } from './transport/broker-policy.js';
import { DEFAULT_PLACEMENT } from './scheduling/placement/placement-registry.js';
import { parsePlacementSpec } from './scheduling/placement/placement-router.js';
import type { TaskServiceOptions } from './core/task-service-options.js';
import { parseAutoscaleEnv } from './autoscaling/autoscaling.js';
import { parseLimitsSetting } from './limits/limit-rules.js';
import { parseFairShare } from './limits/fair-share.js';
import { MAX_MQTT_PAYLOAD_BYTES } from '../common/wire.js';

export interface MasterOptions {
  /** Unique id of this master (default `master-<hostname>`). */
  masterId?: string;
  /** Interface to bind HTTP, gRPC and the embedded broker on (default 0.0.0.0). */
  bindHost?: string;
  /** HTTP + Socket.IO port (default 8080; 0 = any free port). */
  httpPort?: number;
  /** gRPC ResultService port (default 50051; 0 = any). */
  grpcPort?: number;
  /** Embedded aedes port (default 1883; 0 = any). Ignored with mqttUrl. */
  mqttPort?: number;
  /** External broker (mqtt://host:port); when set no broker is embedded. */
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** Topic root (default taskwire/v1). */
  topicRoot?: string;
  /** Host workers should dial for gRPC; empty = the host they reach MQTT at. */
  grpcAdvertiseHost?: string;
  /** HMAC key for result tokens (default: random per process). */
  resultSecret?: string;
  /** Directory with the built web UI (default dist/web next to the code). */
  webDir?: string;
  logLevel?: LogLevel;
  /** Attempts per task before it fails for good (default 3). */
  maxAttempts?: number;
  /** Default run time per attempt (default 10 min). */
  taskTimeoutMs?: number;
  /** Default longest wait in the queue; 0 = no limit (default 1 h). */
  queueTimeoutMs?: number;
  /** Workers send a HEARTBEAT this often while running a task (default 5 s). */
  heartbeatIntervalMs?: number;
  /** Default silence after which an attempt is lost (default 15 s = 3 heartbeats). */
  heartbeatTimeoutMs?: number;
  /** First retry backoff; doubles per attempt with jitter (default 500 ms). */
  retryBaseMs?: number;
  /** Longest retry backoff (default 30 s). */
  retryMaxMs?: number;
  /** Time a running task has to confirm a cancel before it is closed anyway (default 5 s). */
  cancelGraceMs?: number;
  /** Directory of the durable task store (SQLite); empty = in memory only (default). */
  dataDir?: string;
  /** `postgres://…`: the task store on PostgreSQL instead of SQLite in dataDir (`TASKWIRE_STORE`; default empty). */
  store?: string;
  /** Finished tasks and their results are kept this long (default 7 days). */
  resultTtlMs?: number;
  /**
   * Bytes of task input one caller (principal) may have unfinished, queued or
   * running (default 256 MiB, `TASKWIRE_MAX_UNFINISHED_BYTES`); more is refused with 429.
   * All callers together may hold four times that.
   */
  maxUnfinishedBytes?: number;
  /** How long the event API keeps events (default 24 h, `TASKWIRE_EVENTS_RETENTION_MS`). */
  eventRetentionMs?: number;
  /** How long kept log lines stay (default 24 h, `TASKWIRE_LOG_RETENTION_MS`; master/logs). */
  logRetentionMs?: number;
  /** Bytes of kept log lines (default 512 MiB in the data dir, `TASKWIRE_LOG_MAX_BYTES`; at most 32 MiB in memory without one). */
  logMaxBytes?: number;
  /**
   * Worker choice (`TASKWIRE_PLACEMENT`, default `least-loaded`): a registered
   * placement strategy by name, or per kind / model:
   * `llm=affinity,infer:resnet=least-latency,default=p2c`.
   */
  placement?: string;
  /**
   * Deadline admission for submits that carry no deadline
   * (`TASKWIRE_ADMISSION_DEADLINES`, default off): `on` refuses one whose
   * estimated queue wait exceeds its queue timeout. A submit with
   * `deadline_ms` / `deadline_at` is always checked.
   */
  admissionDeadlines?: 'off' | 'on';
  /** Slow start of a newly online worker in placement, ms (`TASKWIRE_PLACEMENT_SLOW_START_MS`, default 0 = off; docs/PLACEMENT.md). */
  placementSlowStartMs?: number;
  /** Start-up autoscaling policies (`TASKWIRE_AUTOSCALE`, JSON pool -> policy; docs/AUTOSCALING.md); default none. */
  autoscale?: string;
  /** How often the autoscaler evaluates its pools, ms (`TASKWIRE_AUTOSCALE_INTERVAL_MS`, default 1000). */
  autoscaleIntervalMs?: number;
  /** The Docker Engine the Swarm actuator talks to (`TASKWIRE_DOCKER_HOST`, default unix:///var/run/docker.sock). */
  dockerHost?: string;
  /** Shared secret workers present as MQTT password (username = worker id). Default: generated and kept in the store. */
  clusterToken?: string;
  /** Per-worker MQTT passwords (worker id -> password), in place of the cluster token. */
  workerPasswords?: Record<string, string>;
  /** Password of the read-only `observer` MQTT account (status, logs, cluster); none by default. */
  observerPassword?: string;
  /** Anonymous read-only access to status and logs on the embedded broker (default off). */
  anonymousRead?: AnonymousRead;
  /** How often cluster status is published (default 2000 ms). */
  clusterStatusIntervalMs?: number;
  /** Largest accepted task input, bytes of JSON (default 1 MiB). */
  maxInputBytes?: number;
  /** Largest blob (uploaded or produced image) in bytes (default 50 MB). Blobs live in <dataDir>/blobs, or a temp dir without dataDir. */
  maxBlobBytes?: number;
  /** Largest image (width x height) accepted for the `image` kind (default 100 M pixels). */
  imageMaxPixels?: number;
  /** Finished tasks kept in memory for GET /tasks/:id (default 100000). */
  maxFinishedTasks?: number;
  /**
   * Bytes of finished tasks' input and result kept in memory (default 256 MiB,
   * `TASKWIRE_CACHE_MAX_BYTES`). With a data dir older ones are read back from
   * disk on demand; the memory store forgets them.
   */
  cacheMaxBytes?: number;
  /** Log to stdout (default true). */
  logToStdout?: boolean;
  /**
   * API keys for REST and the OpenAI-compatible gateway (`Authorization:
   * Bearer <key>`). Empty (default): no authentication on HTTP.
   */
  apiKeys?: string[];
  /**
   * The bootstrap admin key (tenant `default`, every scope), stored hashed in
   * the key store (`TASKWIRE_ADMIN_KEY` / `TASKWIRE_ADMIN_KEY_FILE`). Unset: one is
   * generated and printed once when the cluster needs keys and has no admin key.
   */
  adminKey?: string;
  /**
   * Interface the HTTP server (REST, gateway, KServe, web UI, Socket.IO) binds
   * (`TASKWIRE_HTTP_HOST`). Default: `bindHost` when that was set, otherwise
   * 127.0.0.1 without API keys and 0.0.0.0 with them (safe by default).
   */
  httpHost?: string;
  /** Browser origins besides the master's own that may open Socket.IO (`TASKWIRE_ALLOWED_ORIGINS`; `*` = any). */
  allowedOrigins?: string[];
  /** Routes answered without an API key when keys are on (`TASKWIRE_OPEN_ROUTES`; default /healthz, /v2/health/live, /v2/health/ready). */
  openRoutes?: string[];
  /** A chat session id unused this long is no longer accepted (`TASKWIRE_SESSION_IDLE_MS`, default 7 days). */
  sessionIdleMs?: number;
  /** Limits per key and tenant (`TASKWIRE_RATE_LIMITS`, JSON: master/limits/limit-rules.ts, docs/LIMITS.md); default none. */
  rateLimits?: string;
  /** Where limit counters live (`TASKWIRE_LIMITS_STORE`: `memory`, default, or `sqlite` = limits.db in the data dir). */
  limitsStore?: 'memory' | 'sqlite';
  /** Usage metrics per tenant on /metrics (`TASKWIRE_USAGE_METRICS`, default off; master/billing). */
  usageMetrics?: 'off' | 'on';
  /** A `tenant` label on the task counters and histograms of /metrics (`TASKWIRE_METRICS_TENANT_LABELS`, default off; bounded: docs/OBSERVABILITY.md). */
  metricsTenantLabels?: 'off' | 'on';
  /** Weighted-fair dispatch across tenants (`TASKWIRE_FAIR_SHARE`: `off`, default, `on`, or weights `acme=3,*=1`; master/limits/fair-share.ts). */
  fairShare?: string;
  /** `multi`: several masters share one PostgreSQL store and an external broker (`TASKWIRE_MASTERS`; default `single`; docs/MULTI_MASTER.md). */
  masters?: 'single' | 'multi';
  /** Multi-master: a master not heard from this long is dead, its tasks re-queued (`TASKWIRE_MASTER_LEASE_MS`; default 5000). */
  masterLeaseMs?: number;
}

export type ResolvedMasterOptions = Required<Omit<MasterOptions, 'mqttUrl' | 'mqttUsername' | 'mqttPassword' | 'clusterToken' | 'observerPassword'>> & {
  clusterToken: string | undefined;
  observerPassword: string | undefined;
  mqttUrl: string | undefined;
  mqttUsername: string | undefined;
  mqttPassword: string | undefined;
};

export const MASTER_DEFAULTS = {
  bindHost: '0.0.0.0',
  httpPort: 8080,
  grpcPort: 50051,
  mqttPort: 1883,
  topicRoot: DEFAULT_TOPIC_ROOT,
  grpcAdvertiseHost: '',
  logLevel: 'info' as LogLevel,
  maxAttempts: 3,
  taskTimeoutMs: 10 * 60_000,
  queueTimeoutMs: 60 * 60_000,
  heartbeatIntervalMs: 5000,
  heartbeatTimeoutMs: 15_000,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  cancelGraceMs: 5000,
  dataDir: '',
  store: '',
  resultTtlMs: 7 * 24 * 3600_000,
  eventRetentionMs: 24 * 3600_000,
  logRetentionMs: 24 * 3600_000,
  logMaxBytes: 512 * 1024 * 1024,
  maxUnfinishedBytes: 256 * 1024 * 1024,
  adminKey: '',
  placement: DEFAULT_PLACEMENT as string,
  admissionDeadlines: 'off' as 'off' | 'on',
  placementSlowStartMs: 0,
  autoscale: '',
  autoscaleIntervalMs: 1000,
  dockerHost: 'unix:///var/run/docker.sock',
  workerPasswords: {} as Record<string, string>,
  anonymousRead: 'off' as AnonymousRead,
  clusterStatusIntervalMs: 2000,
  maxInputBytes: 1024 * 1024,
  maxBlobBytes: 50 * 1024 * 1024,
  imageMaxPixels: 100_000_000,
  maxFinishedTasks: 100_000,
  cacheMaxBytes: 256 * 1024 * 1024,
  logToStdout: true,
  apiKeys: [] as string[],
  httpHost: '',
  allowedOrigins: [] as string[],
  openRoutes: ['/healthz', '/v2/health/live', '/v2/health/ready'] as string[],
  sessionIdleMs: 7 * 24 * 3600_000,
  rateLimits: '',
  limitsStore: 'memory' as 'memory' | 'sqlite',
  usageMetrics: 'off' as 'off' | 'on',
  metricsTenantLabels: 'off' as 'off' | 'on',
  fairShare: '',
  masters: 'single',
  masterLeaseMs: 5000,
} as const;

/** A TASKWIRE_PLACEMENT value, checked (a ConfigError naming `name` otherwise). */
export function placementName(name: string, v: string): string {
  parsePlacementSpec(v, name); // throws a ConfigError naming the variable
  return v;
}

/** TASKWIRE_STORE: empty (SQLite in dataDir, or memory) or a postgres:// URL. */
function storeUrl(v: string): string {
  if (v === '' || /^postgres(ql)?:\/\/[^\s]+$/i.test(v)) return v;
  throw new ConfigError('TASKWIRE_STORE', 'must be a postgres:// or postgresql:// URL (or empty for SQLite in TASKWIRE_DATA_DIR)');
}

/** TASKWIRE_MASTERS=multi needs the shared parts: a PostgreSQL store and an external broker. */
function mastersMode(v: 'single' | 'multi', store: string, mqttUrl: string | undefined): 'single' | 'multi' {
  if (v !== 'single' && v !== 'multi') throw new ConfigError('TASKWIRE_MASTERS', `must be single or multi, got "${String(v)}"`);
  if (v === 'multi' && !/^postgres(ql)?:\/\//i.test(store)) throw new ConfigError('TASKWIRE_MASTERS', 'multi needs TASKWIRE_STORE=postgres://… (the masters share the database)');
  if (v === 'multi' && !mqttUrl) throw new ConfigError('TASKWIRE_MASTERS', 'multi needs TASKWIRE_MQTT_URL (a broker the masters share, e.g. Mosquitto)');
  return v;
}

/**
 * The largest task input a master accepts: an input travels inside its
 * worker's MQTT assignment (JSON as it is), which must fit the payload limit
 * every worker enforces, with room for the assignment's other fields.
 */
export const MAX_INPUT_BYTES_LIMIT = MAX_MQTT_PAYLOAD_BYTES - 64 * 1024;

function maxInputBytes(v: number): number {
  positiveInt('TASKWIRE_MAX_INPUT_BYTES', v, 1024);
  if (v > MAX_INPUT_BYTES_LIMIT) {
    throw new ConfigError('TASKWIRE_MAX_INPUT_BYTES', `must be at most ${MAX_INPUT_BYTES_LIMIT} (an input travels in one MQTT message of at most ${MAX_MQTT_PAYLOAD_BYTES} bytes), got ${v}`);
  }
  return v;
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(name, `must be an integer >= ${min}, got ${v}`);
  return v;
}

export function resolveMasterOptions(options: MasterOptions = {}): ResolvedMasterOptions {
  const o = { ...MASTER_DEFAULTS, ...stripUndefined(options) };
  const masterId = options.masterId ?? `master-${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 128);
  if (!ID_PATTERN.test(masterId)) throw new ConfigError('masterId', `"${masterId}" is not a valid id`);
  if (options.mqttUrl !== undefined) parseMqttUrl('TASKWIRE_MQTT_URL', options.mqttUrl);
  try {
    assertTopicRoot(o.topicRoot);
  } catch (err) {
    throw new ConfigError('TASKWIRE_TOPIC_ROOT', (err as Error).message);
  }
  if (o.heartbeatTimeoutMs <= o.heartbeatIntervalMs) {
    throw new ConfigError('TASKWIRE_HEARTBEAT_TIMEOUT_MS', `must be longer than the heartbeat interval (${o.heartbeatIntervalMs} ms)`);
  }
  return {
    masterId,
    bindHost: o.bindHost,
    httpPort: assertPort('TASKWIRE_HTTP_PORT', o.httpPort),
    grpcPort: assertPort('TASKWIRE_GRPC_PORT', o.grpcPort),
    mqttPort: assertPort('TASKWIRE_MQTT_PORT', o.mqttPort),
    mqttUrl: options.mqttUrl,
    mqttUsername: options.mqttUsername,
    mqttPassword: options.mqttPassword,
    topicRoot: o.topicRoot,
    grpcAdvertiseHost: o.grpcAdvertiseHost,
    resultSecret: options.resultSecret ?? '',
    webDir: options.webDir ?? '',
    logLevel: o.logLevel,
    maxAttempts: positiveInt('TASKWIRE_MAX_ATTEMPTS', o.maxAttempts),
    taskTimeoutMs: positiveInt('TASKWIRE_TASK_TIMEOUT_MS', o.taskTimeoutMs),
    queueTimeoutMs: positiveInt('TASKWIRE_QUEUE_TIMEOUT_MS', o.queueTimeoutMs, 0),
    heartbeatIntervalMs: positiveInt('TASKWIRE_HEARTBEAT_INTERVAL_MS', o.heartbeatIntervalMs, 100),
    heartbeatTimeoutMs: positiveInt('TASKWIRE_HEARTBEAT_TIMEOUT_MS', o.heartbeatTimeoutMs, 200),
    retryBaseMs: positiveInt('TASKWIRE_RETRY_BASE_MS', o.retryBaseMs, 0),
    retryMaxMs: positiveInt('TASKWIRE_RETRY_MAX_MS', o.retryMaxMs, 0),
    cancelGraceMs: positiveInt('TASKWIRE_CANCEL_GRACE_MS', o.cancelGraceMs, 0),
    dataDir: o.dataDir,
    store: storeUrl(o.store),
    resultTtlMs: positiveInt('TASKWIRE_RESULT_TTL_MS', o.resultTtlMs, 1000),
    eventRetentionMs: positiveInt('TASKWIRE_EVENTS_RETENTION_MS', o.eventRetentionMs, 1000),
    logRetentionMs: positiveInt('TASKWIRE_LOG_RETENTION_MS', o.logRetentionMs, 1000),
    logMaxBytes: positiveInt('TASKWIRE_LOG_MAX_BYTES', o.logMaxBytes, 64 * 1024),
    maxUnfinishedBytes: positiveInt('TASKWIRE_MAX_UNFINISHED_BYTES', o.maxUnfinishedBytes, 1024),
    placement: placementName('TASKWIRE_PLACEMENT', o.placement),
    admissionDeadlines: o.admissionDeadlines,
    placementSlowStartMs: positiveInt('TASKWIRE_PLACEMENT_SLOW_START_MS', o.placementSlowStartMs, 0),
    autoscale: (parseAutoscaleEnv(o.autoscale), o.autoscale),
    autoscaleIntervalMs: positiveInt('TASKWIRE_AUTOSCALE_INTERVAL_MS', o.autoscaleIntervalMs, 50),
    dockerHost: o.dockerHost,
    clusterToken: options.clusterToken,
    workerPasswords: o.workerPasswords,
    observerPassword: options.observerPassword,
    anonymousRead: o.anonymousRead,
    clusterStatusIntervalMs: positiveInt('clusterStatusIntervalMs', o.clusterStatusIntervalMs, 50),
    maxInputBytes: maxInputBytes(o.maxInputBytes),
    maxBlobBytes: positiveInt('TASKWIRE_MAX_BLOB_BYTES', o.maxBlobBytes, 1),
    imageMaxPixels: positiveInt('TASKWIRE_IMAGE_MAX_PIXELS', o.imageMaxPixels, 1),
    maxFinishedTasks: positiveInt('maxFinishedTasks', o.maxFinishedTasks),
    cacheMaxBytes: positiveInt('TASKWIRE_CACHE_MAX_BYTES', o.cacheMaxBytes, 1024 * 1024),
    logToStdout: o.logToStdout,
    apiKeys: o.apiKeys,
    adminKey: o.adminKey,
    httpHost: o.httpHost || (options.bindHost ?? (o.apiKeys.length > 0 ? '0.0.0.0' : '127.0.0.1')),
    allowedOrigins: o.allowedOrigins,
    openRoutes: o.openRoutes,
    sessionIdleMs: positiveInt('TASKWIRE_SESSION_IDLE_MS', o.sessionIdleMs, 1000),
    rateLimits: (parseLimitsSetting(o.rateLimits), o.rateLimits), // throws naming TASKWIRE_RATE_LIMITS
    limitsStore: o.limitsStore,
    usageMetrics: o.usageMetrics,
    metricsTenantLabels: o.metricsTenantLabels,
    fairShare: (parseFairShare(o.fairShare), o.fairShare), // throws naming TASKWIRE_FAIR_SHARE
    masters: mastersMode(o.masters, o.store, options.mqttUrl),
    masterLeaseMs: positiveInt('TASKWIRE_MASTER_LEASE_MS', o.masterLeaseMs, 500),
  };
}

/** The master options TaskService takes under the same names (the rest are derived below). */
const TASK_SERVICE_KEYS = [
  'maxAttempts',
  'taskTimeoutMs',
  'queueTimeoutMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'maxInputBytes',
  'retryBaseMs',
  'retryMaxMs',
  'cancelGraceMs',
] as const satisfies readonly (keyof TaskServiceOptions & keyof ResolvedMasterOptions)[];

/** The task service's group of the resolved master options. */
export function taskServiceOptions(o: ResolvedMasterOptions): TaskServiceOptions {
  const picked = Object.fromEntries(TASK_SERVICE_KEYS.map((k) => [k, o[k]])) as Pick<TaskServiceOptions, (typeof TASK_SERVICE_KEYS)[number]>;
  return {
    ...picked,
    payloadBudget: { maxBytesPerOwner: o.maxUnfinishedBytes, maxBytesTotal: o.maxUnfinishedBytes * 4 },
    admissionDeadlines: o.admissionDeadlines === 'on',
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
