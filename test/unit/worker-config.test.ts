import { describe, expect, it } from 'vitest';
import { brokerUrlFor, redactUrl, resolveWorkerOptions, workerOptionsFromEnv } from '../../worker/config.js';

describe('worker broker address', () => {
  it.each([
    ['10.0.0.5', 1883, 'mqtt://10.0.0.5:1883'],
    ['10.0.0.5:23883', 1883, 'mqtt://10.0.0.5:23883'],
    ['master.local', 2883, 'mqtt://master.local:2883'],
    ['[::1]:23883', 1883, 'mqtt://[::1]:23883'],
    ['::1', 1883, 'mqtt://[::1]:1883'],
  ])('--master %s (default port %d) -> %s', (master, port, url) => {
    expect(brokerUrlFor(master, port)).toBe(url);
  });

  it('names TASKWIRE_MASTER for a bad value, never a variable the user did not set', () => {
    expect(() => brokerUrlFor('host:99999', 1883)).toThrow(/TASKWIRE_MASTER/);
    expect(() => resolveWorkerOptions({ masterHost: 'a b' })).toThrow(/TASKWIRE_MASTER/);
  });

  it('TASKWIRE_MQTT_PORT is the port when --master names none; 0 means the default', async () => {
    const o = await workerOptionsFromEnv({ TASKWIRE_MASTER: '127.0.0.1', TASKWIRE_MQTT_PORT: '23883' });
    expect(resolveWorkerOptions(o).mqttUrl).toBe('mqtt://127.0.0.1:23883');
    const zero = await workerOptionsFromEnv({ TASKWIRE_MQTT_PORT: '0' });
    expect(resolveWorkerOptions(zero).mqttUrl).toBe('mqtt://127.0.0.1:1883');
    const both = await workerOptionsFromEnv({ TASKWIRE_MASTER: 'h:1999', TASKWIRE_MQTT_PORT: '23883' });
    expect(resolveWorkerOptions(both).mqttUrl).toBe('mqtt://h:1999');
  });

  it('redacts passwords in URLs that are logged', () => {
    expect(redactUrl('mqtt://w1:s3cret-token@10.0.0.5:1883')).toBe('mqtt://w1:***@10.0.0.5:1883');
    expect(redactUrl('mqtt://10.0.0.5:1883')).toBe('mqtt://10.0.0.5:1883');
    expect(redactUrl('not a url://u:p@x')).not.toContain(':p@');
  });
});
