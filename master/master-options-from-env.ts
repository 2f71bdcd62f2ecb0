/**
 * The master's options from TASKWIRE_* environment variables, for the CLI
 * (`taskwire master` / `start`; flags override them later). Each variable is
 * checked where it is read, and a bad one is a ConfigError naming it;
 * resolveMasterOptions() (config.ts) validates the whole.
 */
import { ConfigError } from '../common/errors.js';
import { type Env, envInt, envSecret, envString, envEnum, parseMqttUrl } from '../common/env.js';
import { LOG_LEVELS } from '../common/logger.js';
import { ID_PATTERN } from '../common/topics.js';
import { MAX_INPUT_BYTES_LIMIT, placementName, type MasterOptions } from './config.js';
import { storeUrlWithPassword } from './store/postgres-url.js';

/** Reads MasterOptions from TASKWIRE_* environment variables (flags override later). */
export async function masterOptionsFromEnv(env: Env): Promise<MasterOptions> {
  const port = (name: string) => envInt(env, name, { min: 0, max: 65535 });
  const masterId = envString(env, 'TASKWIRE_MASTER_ID');
  if (masterId !== undefined && !ID_PATTERN.test(masterId)) {
    throw new ConfigError('TASKWIRE_MASTER_ID', `"${masterId}" must match ${ID_PATTERN}`);
  }
  const mqttUrl = envString(env, 'TASKWIRE_MQTT_URL');
  if (mqttUrl !== undefined) parseMqttUrl('TASKWIRE_MQTT_URL', mqttUrl);
  return {
    masterId,
    bindHost: envString(env, 'TASKWIRE_BIND_HOST'),
    httpPort: port('TASKWIRE_HTTP_PORT'),
    grpcPort: port('TASKWIRE_GRPC_PORT'),
    mqttPort: port('TASKWIRE_MQTT_PORT'),
    mqttUrl,
    mqttUsername: envString(env, 'TASKWIRE_MQTT_USERNAME'),
    mqttPassword: await envSecret(env, 'TASKWIRE_MQTT_PASSWORD'),
    topicRoot: envString(env, 'TASKWIRE_TOPIC_ROOT'),
    grpcAdvertiseHost: envString(env, 'TASKWIRE_GRPC_ADVERTISE_HOST'),
    resultSecret: await envSecret(env, 'TASKWIRE_RESULT_SECRET'),
    logLevel: envEnum(env, 'TASKWIRE_LOG_LEVEL', LOG_LEVELS),
    maxAttempts: envInt(env, 'TASKWIRE_MAX_ATTEMPTS', { min: 1, max: 100 }),
    taskTimeoutMs: envInt(env, 'TASKWIRE_TASK_TIMEOUT_MS', { min: 1 }),
    queueTimeoutMs: envInt(env, 'TASKWIRE_QUEUE_TIMEOUT_MS', { min: 0 }),
    heartbeatIntervalMs: envInt(env, 'TASKWIRE_HEARTBEAT_INTERVAL_MS', { min: 100 }),
    heartbeatTimeoutMs: envInt(env, 'TASKWIRE_HEARTBEAT_TIMEOUT_MS', { min: 200 }),
    retryBaseMs: envInt(env, 'TASKWIRE_RETRY_BASE_MS', { min: 0 }),
    retryMaxMs: envInt(env, 'TASKWIRE_RETRY_MAX_MS', { min: 0 }),
    cancelGraceMs: envInt(env, 'TASKWIRE_CANCEL_GRACE_MS', { min: 0 }),
    dataDir: envString(env, 'TASKWIRE_DATA_DIR'),
    store: storeUrlWithPassword(await envSecret(env, 'TASKWIRE_STORE'), await envSecret(env, 'TASKWIRE_STORE_PASSWORD')), // the URL may hold a password: TASKWIRE_STORE_FILE too; or apart: TASKWIRE_STORE_PASSWORD_FILE
    clusterToken: await envSecret(env, 'TASKWIRE_CLUSTER_TOKEN'),
    workerPasswords: await workerPasswordsFromEnv(env),
    observerPassword: await envSecret(env, 'TASKWIRE_OBSERVER_PASSWORD'),
    anonymousRead: envEnum(env, 'TASKWIRE_MQTT_ANONYMOUS_READ', ['off', 'localhost', 'any'] as const),
    admissionDeadlines: envEnum(env, 'TASKWIRE_ADMISSION_DEADLINES', ['off', 'on'] as const),
    placementSlowStartMs: envInt(env, 'TASKWIRE_PLACEMENT_SLOW_START_MS', { min: 0, max: 3600_000 }),
    autoscale: envString(env, 'TASKWIRE_AUTOSCALE'),
    autoscaleIntervalMs: envInt(env, 'TASKWIRE_AUTOSCALE_INTERVAL_MS', { min: 50, max: 600_000 }),
    dockerHost: envString(env, 'TASKWIRE_DOCKER_HOST'),
    resultTtlMs: envInt(env, 'TASKWIRE_RESULT_TTL_MS', { min: 1000 }),
    eventRetentionMs: envInt(env, 'TASKWIRE_EVENTS_RETENTION_MS', { min: 1000 }),
    logRetentionMs: envInt(env, 'TASKWIRE_LOG_RETENTION_MS', { min: 1000 }),
    logMaxBytes: envInt(env, 'TASKWIRE_LOG_MAX_BYTES', { min: 64 * 1024, max: Number.MAX_SAFE_INTEGER }),
    maxUnfinishedBytes: envInt(env, 'TASKWIRE_MAX_UNFINISHED_BYTES', { min: 1024, max: Number.MAX_SAFE_INTEGER }),
    placement: (() => {
      const p = envString(env, 'TASKWIRE_PLACEMENT');
      return p === undefined ? undefined : placementName('TASKWIRE_PLACEMENT', p);
    })(),
    maxInputBytes: envInt(env, 'TASKWIRE_MAX_INPUT_BYTES', { min: 1024, max: MAX_INPUT_BYTES_LIMIT }),
    maxBlobBytes: envInt(env, 'TASKWIRE_MAX_BLOB_BYTES', { min: 1 }),
    imageMaxPixels: envInt(env, 'TASKWIRE_IMAGE_MAX_PIXELS', { min: 1 }),
    cacheMaxBytes: envInt(env, 'TASKWIRE_CACHE_MAX_BYTES', { min: 1024 * 1024, max: Number.MAX_SAFE_INTEGER }),
    apiKeys: (await envSecret(env, 'TASKWIRE_API_KEYS'))?.split(/[\s,]+/).filter(Boolean),
    adminKey: (await envSecret(env, 'TASKWIRE_ADMIN_KEY'))?.trim() || undefined,
    httpHost: envString(env, 'TASKWIRE_HTTP_HOST'),
    allowedOrigins: envString(env, 'TASKWIRE_ALLOWED_ORIGINS')?.split(/[\s,]+/).filter(Boolean),
    openRoutes: envString(env, 'TASKWIRE_OPEN_ROUTES')?.split(/[\s,]+/).filter(Boolean),
    sessionIdleMs: envInt(env, 'TASKWIRE_SESSION_IDLE_MS', { min: 1000 }),
    rateLimits: envString(env, 'TASKWIRE_RATE_LIMITS'),
    limitsStore: envEnum(env, 'TASKWIRE_LIMITS_STORE', ['memory', 'sqlite'] as const),
    usageMetrics: envEnum(env, 'TASKWIRE_USAGE_METRICS', ['off', 'on'] as const),
    metricsTenantLabels: envEnum(env, 'TASKWIRE_METRICS_TENANT_LABELS', ['off', 'on'] as const),
    fairShare: envString(env, 'TASKWIRE_FAIR_SHARE'),
    masters: envEnum(env, 'TASKWIRE_MASTERS', ['single', 'multi'] as const),
    masterLeaseMs: envInt(env, 'TASKWIRE_MASTER_LEASE_MS', { min: 500, max: 600_000 }),
  };
}

/** TASKWIRE_WORKER_CREDENTIALS_FILE: one `worker-id:password` per line (# comments). */
async function workerPasswordsFromEnv(env: Env): Promise<Record<string, string> | undefined> {
  const file = envString(env, 'TASKWIRE_WORKER_CREDENTIALS_FILE');
  if (file === undefined) return undefined;
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('TASKWIRE_WORKER_CREDENTIALS_FILE', `cannot read ${file}: ${(err as Error).message}`);
  }
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const at = l.indexOf(':');
    const id = l.slice(0, at);
    if (at < 1 || !ID_PATTERN.test(id) || at === l.length - 1) {
      throw new ConfigError('TASKWIRE_WORKER_CREDENTIALS_FILE', `line ${i + 1}: expected worker-id:password`);
    }
    out[id] = l.slice(at + 1);
  });
  return out;
}
