/**
 * Worker configuration: WorkerOptions, WORKER_DEFAULTS, resolveWorkerOptions()
 * and workerOptionsFromEnv() for the CLI.
 */
import { randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { parseTenantList, TENANTS_LABEL } from '../common/worker-tenants.js';
import { type Env, envBool, envInt, envSecret, envString, envEnum, parseMqttUrl } from '../common/env.js';
import { LOG_LEVELS, type LogLevel } from '../common/logger.js';
import { DEFAULT_TOPIC_ROOT, ID_PATTERN, assertTopicRoot } from '../common/topics.js';

export { redactUrl } from '../common/redact-url.js';

export interface WorkerOptions {
  /** Unique id (default `<hostname>-<pid>-<random>`); also the MQTT client id. */
  workerId?: string;
  /** Master `host[:port]`: MQTT at mqtt://host:port (port default mqttPort), gRPC at the port the master advertises. */
  masterHost?: string;
  /** Broker port used with masterHost when it names none (default 1883, TASKWIRE_MQTT_PORT). */
  mqttPort?: number;
  /** Broker URL; overrides masterHost for MQTT. */
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPassword?: string;
  /** gRPC ResultService `host:port`; default from the master's retained status. */
  grpcTarget?: string;
  topicRoot?: string;
  /** Tasks run at once (default 8). */
  capacity?: number;
  /** Restrict to these kinds (default: every kind this worker can serve). */
  kinds?: string[];
  /** Time to finish running tasks on shutdown before handing them back (default 10 s). */
  shutdownGraceMs?: number;
  /** Status re-published this often (default 15 s). */
  statusIntervalMs?: number;
  /** File touched every few seconds for `taskwire health --file` (default in tmpdir). */
  healthFile?: string;
  /**
   * The master's blob directory (`<data dir>/blobs`), when this worker can read it: on the master's
   * host or with its volume mounted (TASKWIRE_BLOB_DIR; default none). Input blobs are read from it,
   * FetchBlob is the fallback; outputs still go through PutBlob.
   */
  blobDir?: string;
  /** Serve this worker's own /metrics on this port (TASKWIRE_METRICS_PORT; 0 = any free port; default off). */
  metricsPort?: number;
  /** Address of the metrics port (TASKWIRE_METRICS_HOST, default 0.0.0.0). */
  metricsHost?: string;
  /** Keep metrics and send a summary in the status for the master's /metrics (TASKWIRE_METRICS_SUMMARY, default false). */
  metricsSummary?: boolean;
  labels?: Record<string, string>;
  /** Serve only these tenants' tasks (TASKWIRE_WORKER_TENANTS; empty, default: shared, every tenant). Sent as the `taskwire.tenants` label. */
  tenants?: string[];
  /** How long to keep trying the broker at start (default 60 s). */
  connectTimeoutMs?: number;
  logLevel?: LogLevel;
  logToStdout?: boolean;
}

export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, 'mqttUsername' | 'mqttPassword' | 'grpcTarget' | 'kinds' | 'masterHost' | 'metricsPort' | 'blobDir'>> & {
  metricsPort: number | undefined;
  blobDir: string | undefined;
  mqttUsername: string | undefined;
  mqttPassword: string | undefined;
  grpcTarget: string | undefined;
  kinds: string[] | undefined;
  masterHost: string;
};

export const WORKER_DEFAULTS = {
  masterHost: '127.0.0.1',
  mqttPort: 1883,
  topicRoot: DEFAULT_TOPIC_ROOT,
  capacity: 8,
  shutdownGraceMs: 10_000,
  statusIntervalMs: 15_000,
  logLevel: 'info' as LogLevel,
  logToStdout: true,
  connectTimeoutMs: 60_000,
} as const;

/**
 * `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address -> mqtt://host:port.
 * A port in `master` wins over `defaultPort`.
 */
export function brokerUrlFor(master: string, defaultPort: number): string {
  const m = master.trim();
  let host = m;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(m);
  const hostPort = /^([^:]+):(\d+)$/.exec(m);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (hostPort) {
    host = hostPort[1]!;
    port = Number(hostPort[2]);
  }
  if (!host || /[\s/@]/.test(host)) throw new ConfigError('TASKWIRE_MASTER', `expected host or host:port, got "${master}"`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError('TASKWIRE_MASTER', `not a TCP port in "${master}"`);
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function defaultWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'worker';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function resolveWorkerOptions(options: WorkerOptions = {}): ResolvedWorkerOptions {
  const workerId = options.workerId ?? defaultWorkerId();
  if (!ID_PATTERN.test(workerId)) throw new ConfigError('TASKWIRE_WORKER_ID', `"${workerId}" must match ${ID_PATTERN}`);
  const masterHost = options.masterHost ?? WORKER_DEFAULTS.masterHost;
  const mqttUrl = options.mqttUrl ?? brokerUrlFor(masterHost, options.mqttPort ?? WORKER_DEFAULTS.mqttPort);
  parseMqttUrl(options.mqttUrl !== undefined ? 'TASKWIRE_MQTT_URL' : 'TASKWIRE_MASTER', mqttUrl);
  if (options.grpcTarget !== undefined && !/^[^\s/]+:\d{1,5}$/.test(options.grpcTarget)) {
    throw new ConfigError('TASKWIRE_GRPC_URL', `expected host:port, got "${options.grpcTarget}"`);
  }
  const capacity = options.capacity ?? WORKER_DEFAULTS.capacity;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 10_000) {
    throw new ConfigError('TASKWIRE_WORKER_CAPACITY', `must be an integer from 1 to 10000, got ${capacity}`);
  }
  const topicRoot = options.topicRoot ?? WORKER_DEFAULTS.topicRoot;
  try {
    assertTopicRoot(topicRoot);
  } catch (err) {
    throw new ConfigError('TASKWIRE_TOPIC_ROOT', (err as Error).message);
  }
  return {
    workerId,
    masterHost,
    mqttPort: options.mqttPort ?? WORKER_DEFAULTS.mqttPort,
    mqttUrl,
    // With only a password (cluster token), the username is the worker id.
    mqttUsername: options.mqttUsername ?? (options.mqttPassword !== undefined ? workerId : undefined),
    mqttPassword: options.mqttPassword,
    grpcTarget: options.grpcTarget,
    topicRoot,
    capacity,
    kinds: options.kinds,
    shutdownGraceMs: options.shutdownGraceMs ?? WORKER_DEFAULTS.shutdownGraceMs,
    statusIntervalMs: options.statusIntervalMs ?? WORKER_DEFAULTS.statusIntervalMs,
    healthFile: options.healthFile ?? join(tmpdir(), `taskwire-worker-${workerId}.health`),
    blobDir: options.blobDir || undefined,
    metricsPort: options.metricsPort,
    metricsHost: options.metricsHost ?? '0.0.0.0',
    metricsSummary: options.metricsSummary ?? false,
    tenants: options.tenants ?? [],
    labels: { ...options.labels, ...(options.tenants?.length && { [TENANTS_LABEL]: parseTenantList('TASKWIRE_WORKER_TENANTS', options.tenants.join(',')).join(',') }) },
    connectTimeoutMs: options.connectTimeoutMs ?? WORKER_DEFAULTS.connectTimeoutMs,
    logLevel: options.logLevel ?? WORKER_DEFAULTS.logLevel,
    logToStdout: options.logToStdout ?? WORKER_DEFAULTS.logToStdout,
  };
}

export async function workerOptionsFromEnv(env: Env): Promise<WorkerOptions> {
  const kinds = envString(env, 'TASKWIRE_WORKER_KINDS');
  const mqttUrl = envString(env, 'TASKWIRE_MQTT_URL');
  if (mqttUrl !== undefined) parseMqttUrl('TASKWIRE_MQTT_URL', mqttUrl);
  const grpcUrl = envString(env, 'TASKWIRE_GRPC_URL');
  return {
    workerId: envString(env, 'TASKWIRE_WORKER_ID'),
    masterHost: envString(env, 'TASKWIRE_MASTER'),
    // 0 (a master's "any free port") means nothing to a worker: the default applies.
    mqttPort: envInt(env, 'TASKWIRE_MQTT_PORT', { min: 0, max: 65535 }) || undefined,
    mqttUrl,
    mqttUsername: envString(env, 'TASKWIRE_MQTT_USERNAME'),
    mqttPassword: (await envSecret(env, 'TASKWIRE_MQTT_PASSWORD')) ?? (await envSecret(env, 'TASKWIRE_CLUSTER_TOKEN')),
    grpcTarget: grpcUrl?.replace(/^(grpc|http):\/\//, ''),
    topicRoot: envString(env, 'TASKWIRE_TOPIC_ROOT'),
    capacity: envInt(env, 'TASKWIRE_WORKER_CAPACITY', { min: 1, max: 10_000 }),
    kinds: kinds?.split(',').map((k) => k.trim()).filter(Boolean),
    shutdownGraceMs: envInt(env, 'TASKWIRE_SHUTDOWN_GRACE_MS', { min: 0 }),
    healthFile: envString(env, 'TASKWIRE_HEALTH_FILE'),
    blobDir: envString(env, 'TASKWIRE_BLOB_DIR'),
    metricsPort: envInt(env, 'TASKWIRE_METRICS_PORT', { min: 0, max: 65535 }),
    metricsHost: envString(env, 'TASKWIRE_METRICS_HOST'),
    metricsSummary: envBool(env, 'TASKWIRE_METRICS_SUMMARY'),
    tenants: parseTenantList('TASKWIRE_WORKER_TENANTS', envString(env, 'TASKWIRE_WORKER_TENANTS')),
    connectTimeoutMs: envInt(env, 'TASKWIRE_CONNECT_TIMEOUT_MS', { min: 100 }),
    logLevel: envEnum(env, 'TASKWIRE_LOG_LEVEL', LOG_LEVELS),
  };
}
