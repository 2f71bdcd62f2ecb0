/**
 * Waiting for an mqtt.js client's first connection. A broker that is not up
 * yet (connection refused, DNS not ready: a Swarm service starting before
 * Mosquitto) is retried by mqtt.js until `timeoutMs`; refused credentials
 * fail at once with a message that says so.
 */
import type { MqttClient } from 'mqtt';
import { TaskwireError } from './errors.js';
import type { Logger } from './logger.js';
import { redactUrl } from './redact-url.js';

const AUTH_CODES = new Set([4, 5, 134, 135]);

/** What a refused client should do, for messages (the worker adds it to its refusal errors). */
export const CREDENTIALS_HINT =
  'set TASKWIRE_CLUSTER_TOKEN to the master\'s cluster token (print it on the master\'s machine with `taskwire token --data-dir <dir>`), or TASKWIRE_MQTT_USERNAME / TASKWIRE_MQTT_PASSWORD for an external broker';

export function waitForFirstConnect(client: MqttClient, rawUrl: string, timeoutMs: number, log: Logger, opts: { logRetries?: boolean } = {}): Promise<void> {
  const url = redactUrl(rawUrl);
  return new Promise<void>((resolve, reject) => {
    let warned = 0;
    const cleanup = () => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    const fail = (err: Error) => {
      cleanup();
      client.end(true);
      reject(err);
    };
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error & { code?: number | string }) => {
      if (typeof err.code === 'number' && AUTH_CODES.has(err.code)) {
        fail(new TaskwireError('UNAUTHENTICATED', `the MQTT broker at ${url} refused our credentials (${err.message}): ${CREDENTIALS_HINT}`));
        return;
      }
      if (opts.logRetries !== false && Date.now() - warned > 5000) {
        warned = Date.now();
        log.warn({ url, err: err.message }, 'MQTT broker not reachable yet; retrying');
      }
    };
    const timer = setTimeout(() => fail(new TaskwireError('UNAVAILABLE', `could not connect to the MQTT broker at ${url} within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    client.on('connect', onConnect);
    client.on('error', onError);
  });
}

export interface BackoffOptions {
  /** First retry delay (default 500 ms). */
  baseMs?: number;
  /** Longest delay between attempts (default 10 s: a restarted master is rejoined soon). */
  maxMs?: number;
  /** A still-failing broker is logged again at most this often (default 60 s). */
  logEveryMs?: number;
  /** Safe to log (no credentials). */
  url: string;
  log: Logger;
}

/**
 * Exponential reconnect backoff with full jitter for an mqtt.js client:
 * delay = random(base/2 .. min(max, base * 2^n)); reset on connect. The first
 * failure is logged, then one summary line per `logEveryMs` while it lasts,
 * and the reconnect itself. A client with reconnectPeriod 0 is left alone.
 */
export function reconnectWithBackoff(client: MqttClient, o: BackoffOptions): { attempts(): number } {
  const base = o.baseMs ?? 500;
  const max = o.maxMs ?? 10_000;
  const logEvery = o.logEveryMs ?? 60_000;
  let failures = 0;
  let lastLog = 0;
  let lastErr = '';
  const next = () => {
    const ceiling = Math.min(max, base * 2 ** Math.min(failures, 20));
    return Math.max(base / 2, Math.round(ceiling * (0.5 + Math.random() * 0.5)));
  };
  client.on('error', (err: Error) => {
    lastErr = err.message;
  });
  // Before mqtt.js's own close listener, which schedules the retry with options.reconnectPeriod.
  client.prependListener('close', () => {
    if (client.options.reconnectPeriod === 0) return;
    failures++;
    client.options.reconnectPeriod = next();
    const now = Date.now();
    if (failures === 1 || now - lastLog >= logEvery) {
      lastLog = now;
      o.log.warn({ url: o.url, err: lastErr || 'connection closed', attempts: failures, retry_in_ms: client.options.reconnectPeriod }, failures === 1 ? 'MQTT broker not reachable; retrying with backoff' : 'MQTT broker still not reachable; retrying');
    }
  });
  client.on('connect', () => {
    if (failures > 1) o.log.info({ url: o.url, attempts: failures }, 'MQTT broker reachable again');
    failures = 0;
    lastErr = '';
    if (client.options.reconnectPeriod !== 0) client.options.reconnectPeriod = base;
  });
  return { attempts: () => failures };
}
