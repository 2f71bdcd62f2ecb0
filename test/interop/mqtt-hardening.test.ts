/**
 * The embedded broker before and around login (issue 12): packet-size limits
 * checked on the fixed header (nothing buffered), a connect timeout, reserved
 * client ids (master, workers), no take-over of a live worker without its own
 * credentials, no worker without a Will, the shared token refused once
 * per-worker credentials exist, and worker statuses with bad kind names dropped
 * (one pattern with the submit side: common/kind-names.ts).
 * Real aedes + real mqtt.js clients + raw TCP sockets on 127.0.0.1, port 0.
 */
import { connect as tcpConnect, Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { createLogger } from '../../common/logger.js';
import { DEFAULT_TOPIC_ROOT, Topics } from '../../common/topics.js';
import { workerStatusCodec } from '../../common/wire.js';
import { EmbeddedBroker, type EmbeddedBrokerOptions, LISTEN_BACKLOG } from '../../master/transport/broker.js';
import { ClusterPolicy, type ClusterPolicyOptions } from '../../master/transport/broker-policy.js';
import { MasterLink } from '../../master/transport/master-link.js';
import { PacketGuard } from '../../master/transport/packet-guard.js';
import { startCluster, waitFor } from '../helpers/cluster.js';

const topics = new Topics(DEFAULT_TOPIC_ROOT);
const { logger: log } = createLogger({ source: 'test', destination: false });
const MASTER = { username: 'taskwire-master-test', password: 'master-pw' };
const TOKEN = 'cluster-token-123';

const brokers: EmbeddedBroker[] = [];
const clients: MqttClient[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(policy: Partial<ClusterPolicyOptions> = {}, opts: Partial<EmbeddedBrokerOptions> = {}): Promise<EmbeddedBroker> {
  const b = await EmbeddedBroker.create({
    host: '127.0.0.1',
    port: 0,
    log,
    policy: new ClusterPolicy({ topics, master: MASTER, clusterToken: TOKEN, anonymousRead: 'localhost', observerPassword: 'obs-pw', ...policy }),
    ...opts,
  });
  brokers.push(b);
  return b;
}

type Login = { clientId: string; username?: string; password?: string; will?: boolean };
function willOf(id: string) {
  return { topic: topics.workerStatus(id), payload: workerStatusCodec.encode({ worker_id: id, state: 'WORKER_STATE_OFFLINE' }), qos: 1 as const, retain: true };
}
/** Connects; resolves the client or the refusal's message. */
async function login(b: EmbeddedBroker, l: Login): Promise<MqttClient | string> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${b.port}`, {
    clientId: l.clientId,
    username: l.username,
    password: l.password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    will: l.will ? willOf(l.clientId) : undefined,
  });
  clients.push(c);
  return new Promise((resolve) => {
    c.once('connect', () => resolve(c));
    c.once('error', (err) => resolve(err.message));
    c.once('close', () => resolve('closed'));
  });
}
const worker = (b: EmbeddedBroker, id: string, password = TOKEN) => login(b, { clientId: id, username: id, password, will: true });

/** Opens a raw TCP socket; resolves when the server closes it. */
function raw(b: EmbeddedBroker): { socket: Socket; closed: Promise<void> } {
  const socket = tcpConnect(b.port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed };
}
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('MQTT before login', () => {
  it('listens with an accept backlog for a fleet connecting at once (the default of 511 dropped SYNs at 1,000 workers)', async () => {
    const listen = vi.spyOn(Server.prototype, 'listen');
    try {
      const b = await broker();
      expect(b.port).toBeGreaterThan(0);
      const opts = listen.mock.calls.map((c) => c[0]).find((a): a is { backlog?: number } => typeof a === 'object' && a !== null && 'host' in a);
      expect(opts?.backlog).toBe(LISTEN_BACKLOG);
      expect(LISTEN_BACKLOG).toBeGreaterThanOrEqual(2048);
    } finally {
      listen.mockRestore();
    }
  });

  it('a CONNECT announcing a 255 MB packet is cut off on its header, long before the connect timeout', async () => {
    const b = await broker({}, { connectTimeoutMs: 60_000 });
    const { socket, closed } = raw(b);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // CONNECT, remaining length 255 MiB (varint 0xff 0xff 0xff 0x7f), then body bytes
    socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = setInterval(() => {
      if (!socket.destroyed && sent < 32 * 1024 * 1024) {
        socket.write(chunk);
        sent += chunk.length;
      }
    }, 5);
    const wasClosed = await within(closed, 4000); // well before any connect timeout (60 s here, 10 s in aedes before)
    clearInterval(pump);
    console.log(`mqtt before login: 255 MB CONNECT closed=${wasClosed} after ${sent} body bytes sent, refusals ${JSON.stringify(b.refusals)}`);
    expect(wasClosed).toBe(true);
    expect(b.refusals.packet_too_large).toBe(1);
  });

  it('a connection that never sends CONNECT is closed after the connect timeout', async () => {
    const b = await broker({}, { connectTimeoutMs: 300 });
    const { closed } = raw(b);
    expect(await within(closed, 5000)).toBe(true);
  });

  it('after login a packet over maxPacketBytes closes the connection; the limit before login is small', async () => {
    const b = await broker({}, { maxPacketBytes: 64 * 1024 });
    const m = await login(b, { clientId: 'master-1', ...MASTER });
    expect(typeof m).not.toBe('string');
    const c = m as MqttClient;
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(topics.clusterStatus(), Buffer.alloc(100 * 1024, 0x20), { qos: 0 });
    expect(await within(closed, 5000)).toBe(true);
    expect(b.refusals.packet_too_large).toBe(1);
  });

  it('the guard reads only fixed headers: split varints, many packets per chunk', () => {
    let loggedIn = false;
    const g = new PacketGuard({ beforeLogin: 100, afterLogin: 1000 }, () => loggedIn);
    expect(g.feed(Buffer.from([0x10, 10, ...Array(10).fill(0)]))).toBeUndefined();
    expect(g.feed(Buffer.from([0x30]))).toBeUndefined();
    expect(g.feed(Buffer.from([0x80 | 44]))).toBeUndefined(); // 44 + 128*k ...
    expect(g.feed(Buffer.from([0x01]))?.announced).toBe(1 + 2 + 172); // 172 > 100 before login
    loggedIn = true;
    const g2 = new PacketGuard({ beforeLogin: 100, afterLogin: 1000 }, () => loggedIn);
    expect(g2.feed(Buffer.concat([Buffer.from([0x30, 0x80 | 44, 0x01]), Buffer.alloc(172), Buffer.from([0xc0, 0])]))).toBeUndefined();
    expect(g2.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toBeDefined(); // 5-byte varint is malformed
  });
});

describe('client-id takeover', () => {
  it('anonymous and observer clients cannot use a worker id or the master id; a live worker is not kicked', async () => {
    const b = await broker();
    const master = await login(b, { clientId: 'the-master', ...MASTER });
    expect(typeof master).not.toBe('string');
    const w = (await worker(b, 'w-1')) as MqttClient;
    expect(typeof w).not.toBe('string');
    let kicked = 0;
    w.on('close', () => kicked++);
    (master as MqttClient).on('close', () => kicked++);

    for (let i = 0; i < 5; i++) {
      expect(typeof (await login(b, { clientId: 'w-1' }))).toBe('string'); // anonymous
      expect(typeof (await login(b, { clientId: 'w-1', username: 'observer', password: 'obs-pw' }))).toBe('string');
      expect(typeof (await login(b, { clientId: 'the-master' }))).toBe('string');
      expect(typeof (await login(b, { clientId: 'the-master', username: 'the-master', password: TOKEN, will: true }))).toBe('string');
    }
    // the shared token does not prove a worker's identity: no take-over of the live w-1
    expect(typeof (await worker(b, 'w-1'))).toBe('string');
    await new Promise((r) => setTimeout(r, 200));
    expect(kicked).toBe(0);
    expect(w.connected).toBe(true);
    expect(b.refusals.reserved_client_id).toBe(20);
    expect(b.refusals.client_id_takeover).toBe(1);
    console.log(`client-id takeover: ${JSON.stringify(b.refusals)} refused, worker and master kept their connections`);

    // a worker that went away may come back with the token
    const gone = new Promise<void>((r) => w.once('close', () => r()));
    w.end(true);
    await gone;
    await waitFor(async () => typeof (await worker(b, 'w-1')) !== 'string', 'w-1 to reconnect', 5000, 100);
    // an unknown id is still fine for a read-only client
    expect(typeof (await login(b, { clientId: 'dashboard-7' }))).not.toBe('string');
  });

  it('a worker with its own per-worker password may take over its live id', async () => {
    const b = await broker({ workerPasswords: new Map([['w-2', 'w2-pw']]) });
    const first = (await worker(b, 'w-2', 'w2-pw')) as MqttClient;
    expect(typeof first).not.toBe('string');
    const kicked = new Promise<void>((r) => first.once('close', () => r()));
    expect(typeof (await worker(b, 'w-2', 'w2-pw'))).not.toBe('string');
    expect(await within(kicked, 5000)).toBe(true);
  });
});

describe('worker identity', () => {
  it('with per-worker credentials the shared token admits no id, in or outside the file', async () => {
    const b = await broker({ workerPasswords: new Map([['w-3', 'w3-pw']]) });
    expect(typeof (await worker(b, 'ghost-9'))).toBe('string');
    expect(typeof (await worker(b, 'w-3'))).toBe('string');
    expect(typeof (await worker(b, 'w-3', 'w3-pw'))).not.toBe('string');
    expect(b.refusals.bad_credentials).toBe(2);
  });

  it('without per-worker credentials the token admits any id (the documented trade-off)', async () => {
    const b = await broker();
    expect(typeof (await worker(b, 'any-id-1'))).not.toBe('string');
  });

  it('a worker connection without a Last Will (or with one on another topic) is refused', async () => {
    const b = await broker();
    expect(typeof (await login(b, { clientId: 'w-4', username: 'w-4', password: TOKEN }))).toBe('string');
    const c = mqtt.connect(`mqtt://127.0.0.1:${b.port}`, {
      clientId: 'w-5',
      username: 'w-5',
      password: TOKEN,
      reconnectPeriod: 0,
      will: { ...willOf('w-6') },
    });
    clients.push(c);
    const r = await new Promise<string>((resolve) => {
      c.once('connect', () => resolve('connected'));
      c.once('error', (e) => resolve(e.message));
    });
    expect(r).not.toBe('connected');
    expect(b.refusals.no_will).toBe(2);
  });
});

describe('kind names in worker status', () => {
  it('a status advertising `__proto__`, `Echo` or a 65-character kind is dropped (the submit side\'s pattern; `constructor` is a plain name)', async () => {
    const b = await broker();
    const link = await MasterLink.create({
      url: `mqtt://127.0.0.1:${b.port}`,
      ...MASTER,
      clientId: 'kind-master',
      topics,
      log,
      presence: () => ({ master_id: 'kind-master', state: 'MASTER_STATE_ONLINE' }),
    });
    const invalid: string[] = [];
    const ok: string[] = [];
    link.on('invalid', (_t, reason) => invalid.push(reason));
    link.on('workerStatus', (s) => ok.push(s.worker_id));
    await link.listen();
    try {
      const w = (await worker(b, 'w-k')) as MqttClient;
      for (const kinds of [['echo', 'x'.repeat(65)], ['__proto__'], ['Echo'], ['echo', 'sleep', 'constructor']]) {
        await w.publishAsync(topics.workerStatus('w-k'), workerStatusCodec.encode({ worker_id: 'w-k', state: 'WORKER_STATE_ONLINE', kinds, capacity: 1 }), { qos: 1 });
      }
      await waitFor(() => invalid.length + ok.length >= 4, 'statuses to arrive', 5000);
      expect(invalid, JSON.stringify({ invalid, ok })).toHaveLength(3);
      expect(invalid[0]).toContain('not a kind name');
      expect(ok).toEqual(['w-k']);
    } finally {
      await link.close();
    }
  });
});

describe('refusals are counted', () => {
  it('the master exports taskwire_mqtt_refused_connections_total by reason', async () => {
    const c = await startCluster({ workers: 1, master: { anonymousRead: 'off' } });
    try {
      const b = c.master.broker!;
      expect(typeof (await login(b, { clientId: 'nobody-1' }))).toBe('string'); // anonymous, off
      const workerId = c.workers[0]!.id;
      expect(typeof (await login(b, { clientId: workerId, username: workerId, password: c.master.clusterToken, will: true }))).toBe('string'); // take-over
      const text = await fetch(`${c.httpUrl}/metrics`).then((r) => r.text());
      expect(text).toMatch(/taskwire_mqtt_refused_connections_total\{reason="bad_credentials"\} 1/);
      expect(text).toMatch(/taskwire_mqtt_refused_connections_total\{reason="client_id_takeover"\} 1/);
      expect(c.master.registry.get(workerId)!.state).toBe('online');
    } finally {
      await c.close();
    }
  });
});

describe('a worker that was there before the master', () => {
  it("its retained status reaches the master's listener (it arrives with the SUBACK, before an await on the subscription returns)", async () => {
    const b = await broker();
    const w = (await worker(b, 'w-early')) as MqttClient;
    await w.publishAsync(topics.workerStatus('w-early'), workerStatusCodec.encode({ worker_id: 'w-early', state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity: 1 }), { qos: 1, retain: true });
    const link = await MasterLink.create({
      url: `mqtt://127.0.0.1:${b.port}`,
      ...MASTER,
      clientId: 'early-master',
      topics,
      log,
      presence: () => ({ master_id: 'early-master', state: 'MASTER_STATE_ONLINE' }),
    });
    const seen: string[] = [];
    link.on('workerStatus', (s) => seen.push(s.worker_id));
    try {
      await link.listen();
      await waitFor(() => seen.includes('w-early'), 'the retained status', 5000);
    } finally {
      await link.close();
    }
  });
});

describe('worker statuses taken in the embedded broker itself', () => {
  it('retained ones from before, live ones and a cleared one reach the master without its client subscribing', async () => {
    const b = await broker();
    const w = (await worker(b, 'w-in')) as MqttClient;
    const status = (id: string, capacity: number) => workerStatusCodec.encode({ worker_id: id, state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity });
    await w.publishAsync(topics.workerStatus('w-in'), status('w-in', 1), { qos: 1, retain: true });
    const link = await MasterLink.create({
      url: `mqtt://127.0.0.1:${b.port}`,
      ...MASTER,
      clientId: 'in-process-master',
      topics,
      log,
      presence: () => ({ master_id: 'in-process-master', state: 'MASTER_STATE_ONLINE' }),
      subscribeInProcess: (filter, onMessage) => b.subscribe(filter, onMessage),
    });
    const seen: string[] = [];
    const cleared: string[] = [];
    link.on('workerStatus', (s) => seen.push(`${s.worker_id}:${s.capacity}`));
    link.on('workerCleared', (id) => cleared.push(id));
    try {
      await link.listen();
      expect(seen).toEqual(['w-in:1']); // the retained one, before listen() returned
      await w.publishAsync(topics.workerStatus('w-in'), status('w-in', 3), { qos: 1, retain: true });
      await waitFor(() => seen.includes('w-in:3'), 'the live status', 5000);
      await w.publishAsync(topics.workerStatus('w-in'), Buffer.alloc(0), { qos: 1, retain: true });
      await waitFor(() => cleared.length > 0, 'the cleared status', 5000);
      expect(cleared).toEqual(['w-in']);
      // The master's own MQTT connection never subscribed to the statuses: they came in-process.
      const clients = (b.aedes as unknown as { clients: Record<string, { subscriptions: Record<string, unknown> }> }).clients;
      expect(Object.keys(clients['in-process-master']!.subscriptions)).not.toContain(topics.allWorkerStatus());
    } finally {
      await link.close();
    }
    // After close nothing more is delivered.
    await w.publishAsync(topics.workerStatus('w-in'), status('w-in', 5), { qos: 1, retain: true });
    await new Promise((r) => setImmediate(r));
    expect(seen).not.toContain('w-in:5');
  });
});
