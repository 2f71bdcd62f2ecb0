/**
 * Waiting for an mqtt.js client's first connection. A broker that is not up
 * yet (connection refused, DNS not ready: a Swarm service starting before
 * Mosquitto) is retried by mqtt.js until `timeoutMs`; refused credentials
 * fail at once with a message that says so.
 */
import type { MqttClient } from 'mqtt';
import { TaskwireError } from './errors.js';
import type { Logger } from './logger.js';

const AUTH_CODES = new Set([4, 5, 134, 135]);

export function waitForFirstConnect(client: MqttClient, url: string, timeoutMs: number, log: Logger): Promise<void> {
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
        fail(new TaskwireError('UNAUTHENTICATED', `the MQTT broker at ${url} refused our credentials (${err.message}); check TASKWIRE_CLUSTER_TOKEN / TASKWIRE_MQTT_USERNAME / TASKWIRE_MQTT_PASSWORD`));
        return;
      }
      if (Date.now() - warned > 5000) {
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
