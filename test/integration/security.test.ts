import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { runTask, startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { Topics } from '../../common/topics.js';

const topics = new Topics();
const opts = { protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 3000 };

async function refused(url: string, o: mqtt.IClientOptions): Promise<string> {
  try {
    const c = await mqtt.connectAsync(url, { ...opts, ...o });
    await c.endAsync();
    return 'connected';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('MQTT authentication and ACLs on the embedded broker', () => {
  let c: TestCluster;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { observerPassword: 'observer-secret-123', anonymousRead: 'localhost' } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((x) => x.endAsync()));
    await c?.close();
  });

  it('refuses wrong credentials and identities', async () => {
    expect(await refused(c.mqttUrl, { clientId: 'w-x', username: 'w-x', password: 'wrong' })).toMatch(/Bad username or password|Not authorized/i);
    // right token, but the username is not the client id (nor `worker`)
    expect(await refused(c.mqttUrl, { clientId: 'w-y', username: 'someone-else', password: c.master.clusterToken })).toMatch(/Bad username|Not authorized/i);
    expect(await refused(c.mqttUrl, { clientId: 'o', username: 'observer', password: 'nope' })).toMatch(/Bad username|Not authorized/i);
  });

  it('a worker may not read another worker\'s tasks nor write another worker\'s status', async () => {
    const victim = c.workers[0]!;
    const id = uniqueId('rogue');
    // (with a Last Will on its own status topic: a worker without one is refused, see test/interop/mqtt-hardening.test.ts)
    const will = { topic: topics.workerStatus(id), payload: Buffer.from(JSON.stringify({ worker_id: id, state: 'WORKER_STATE_OFFLINE' })), qos: 1 as const, retain: true };
    const rogue = await mqtt.connectAsync(c.mqttUrl, { ...opts, clientId: id, username: id, password: c.master.clusterToken, will });
    clients.push(rogue);
    // SUBACK 0x80 for the other worker's topics (mqtt.js reports it as an error carrying the SUBACK)
    const err = (await rogue.subscribeAsync([topics.workerTasks(victim.id), topics.workerControl(victim.id), topics.workerTasks(id)], { qos: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    )) as { packet?: { granted?: number[] } } | undefined;
    expect(err?.packet?.granted).toEqual([128, 128, 1]);
    const got: string[] = [];
    rogue.on('message', (t) => got.push(t));
    // Forge the victim's status (going offline would re-queue its tasks): refused, nothing changes.
    rogue.publish(topics.workerStatus(victim.id), JSON.stringify({ worker_id: victim.id, state: 'WORKER_STATE_OFFLINE' }), { qos: 0 });
    await runTask(c.httpUrl, { kind: 'echo', input: { text: 'secret input' } });
    await new Promise((r) => setTimeout(r, 200));
    expect(c.master.registry.get(victim.id)!.state).toBe('online');
    expect(got).toEqual([]);
  });

  it('an observer and an anonymous localhost client read status and logs but never assignments, and cannot publish', async () => {
    const observer = await mqtt.connectAsync(c.mqttUrl, { ...opts, clientId: uniqueId('obs'), username: 'observer', password: 'observer-secret-123' });
    const anon = await mqtt.connectAsync(c.mqttUrl, { ...opts, clientId: uniqueId('anon') });
    clients.push(observer, anon);
    const seen: Record<string, string[]> = { observer: [], anon: [] };
    observer.on('message', (t) => seen.observer!.push(t));
    anon.on('message', (t) => seen.anon!.push(t));
    await observer.subscribeAsync('taskwire/v1/#', { qos: 1 });
    await anon.subscribeAsync('#', { qos: 0 });
    await runTask(c.httpUrl, { kind: 'echo', input: { text: 'for the worker only' } });
    await waitFor(() => seen.observer!.some((t) => t.endsWith('/status')) && seen.anon!.some((t) => t.endsWith('/status')), 'status messages');
    for (const list of Object.values(seen)) {
      expect(list.some((t) => t.endsWith('/tasks') || t.endsWith('/control'))).toBe(false);
    }
    const before = c.master.registry.all().length;
    observer.publish(topics.workerStatus('ghost'), JSON.stringify({ worker_id: 'ghost', state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity: 1 }));
    anon.publish(topics.workerStatus('ghost2'), JSON.stringify({ worker_id: 'ghost2', state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity: 1 }));
    await new Promise((r) => setTimeout(r, 200));
    expect(c.master.registry.all().length).toBe(before);
  });
});

describe('anonymous access is off unless the operator allows it', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1 });
  });
  afterAll(async () => {
    await c?.close();
  });
  it('refuses anonymous clients by default', async () => {
    expect(await refused(c.mqttUrl, { clientId: uniqueId('anon') })).toMatch(/Not authorized|Bad username/i);
  });
});
