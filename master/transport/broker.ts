/**
 * The embedded MQTT 3.1.1 broker (aedes) on a TCP server with TCP_NODELAY
 * (without it one QoS1 round trip costs ~44 ms of Nagle delay).
 * Authentication and ACLs are delegated to a BrokerPolicy.
 *
 * Before a client has logged in, its packets may be at most
 * `maxConnectBytes` (checked on the fixed header, before the body is
 * buffered) and CONNECT must arrive within `connectTimeoutMs`; after login
 * the limit is `maxPacketBytes`. Client ids are guarded here too: the
 * master's id is the master's, a read-only client (anonymous, observer) can
 * neither use a worker's id nor take over a live connection, and a worker
 * takes over a live connection of its id only when it proved that identity
 * with its own per-worker password. Refusals are logged and counted.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from '../../common/logger.js';

import type { BrokerPolicy, ClientIdentity } from './broker-policy.js';
import { PacketGuard } from './packet-guard.js';

export { OPEN_POLICY } from './broker-policy.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  policy: BrokerPolicy;
  log: Logger;
  /** Largest packet a logged-in client may send, bytes (default 4 MiB + 64 KiB of framing). */
  maxPacketBytes?: number;
  /** Largest packet before login (the CONNECT), bytes (default 128 KiB). */
  maxConnectBytes?: number;
  /** CONNECT must arrive this soon after the TCP connection opens (default 5 s). */
  connectTimeoutMs?: number;
  /** Called for every refused connection (the master counts them in a metric). */
  onRefusal?: (reason: RefusalReason) => void;
}

/** Messages the embedded broker delivers at once before it queues (see createBroker). */
const BROKER_CONCURRENCY = 100_000;

/**
 * Connections the kernel queues for accept (capped by net.core.somaxconn).
 * Node's default of 511 is too short for a fleet that (re)connects at once:
 * 1,000 workers starting together overflowed it, the dropped SYNs were
 * retried after the kernel's 1 s timeout and registering took over 2 s.
 */
export const LISTEN_BACKLOG = 4096;

export const BROKER_DEFAULTS = {
  maxPacketBytes: 4 * 1024 * 1024 + 64 * 1024,
  maxConnectBytes: 128 * 1024,
  connectTimeoutMs: 5000,
} as const;

/** Worker ids remembered as reserved (a token holder registering ids cannot grow it without bound). */
const MAX_REMEMBERED_WORKER_IDS = 100_000;

/** Why the broker refused a connection (the counter label). */
export type RefusalReason = 'bad_credentials' | 'packet_too_large' | 'reserved_client_id' | 'client_id_takeover' | 'no_will';

type State = 'idle' | 'listening' | 'closing' | 'closed';

export class EmbeddedBroker {
  private state: State = 'idle';
  private readonly identities = new WeakMap<Client, ClientIdentity>();
  /** Refused connections by reason (exported as a metric by whoever owns the broker). */
  readonly refusals: Record<RefusalReason, number> = {
    bad_credentials: 0,
    packet_too_large: 0,
    reserved_client_id: 0,
    client_id_takeover: 0,
    no_will: 0,
  };
  /** Client ids of the master (reserved once it logged in) and of every worker seen. */
  private readonly masterIds = new Set<string>();
  private readonly workerIds = new Set<string>();
  private constructor(
    readonly aedes: Aedes,
    private readonly server: Server,
    private readonly log: Logger,
    private readonly onRefusal?: (reason: RefusalReason) => void,
  ) {}

  private refused(reason: RefusalReason): void {
    this.refusals[reason]++;
    this.onRefusal?.(reason);
  }

  static async create(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const { policy, log } = options;
    const limits = {
      beforeLogin: options.maxConnectBytes ?? BROKER_DEFAULTS.maxConnectBytes,
      afterLogin: options.maxPacketBytes ?? BROKER_DEFAULTS.maxPacketBytes,
    };
    const connectTimeout = options.connectTimeoutMs ?? BROKER_DEFAULTS.connectTimeoutMs;
    // aedes' default of 100 messages in flight queues the rest, and mqemitter drains its queue by recursion:
    // 1,000 workers announcing at once overflowed the stack (RangeError in qlobber, the master died).
    const aedes = await Aedes.createBroker({ id: 'taskwire-embedded', heartbeatInterval: 5000, connectTimeout, concurrency: BROKER_CONCURRENCY });
    let broker: EmbeddedBroker | undefined;
    const server = createServer({ noDelay: true }, (socket) => {
      const client = aedes.handle(socket) as Client & { _parser?: { parse(buf: Buffer): unknown } };
      broker?.guard(client, socket, limits);
    });
    broker = new EmbeddedBroker(aedes, server, log, options.onRefusal);
    const self = broker;
    const identities = broker.identities;
    aedes.authenticate = (client, username, password, done) => {
      const remoteAddress = (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
      const will = (client as { _will?: { topic?: string } })._will;
      const identity = policy.authenticate({
        clientId: client.id,
        username: username ?? undefined,
        password: password ?? undefined,
        remoteAddress,
        willTopic: will?.topic,
      });
      const refusal = identity ? self.clientIdRefusal(identity) : { reason: 'bad_credentials' as const, why: 'bad credentials' };
      if (identity && !refusal) {
        identities.set(client, identity);
        if (identity.role === 'master') self.masterIds.add(client.id);
        if (identity.role === 'worker') self.rememberWorker(client.id);
        done(null, true);
        return;
      }
      const r = refusal ?? { reason: 'bad_credentials' as const, why: 'bad credentials' };
      self.refused(r.reason);
      log.warn({ client_id: client.id.slice(0, 128), username: username?.slice(0, 128), remote: remoteAddress, reason: r.reason }, `MQTT client refused: ${r.why}`);
      const returnCode = r.reason === 'bad_credentials' ? 4 : r.reason === 'reserved_client_id' || r.reason === 'client_id_takeover' ? 2 : 5;
      const err = Object.assign(new Error(r.why), { returnCode });
      done(err as never, false);
    };
    const nobody: ClientIdentity = { clientId: '', username: undefined, role: 'anonymous' };
    const who = (client: Client | null): ClientIdentity => (client && identities.get(client)) || nobody;
    aedes.authorizePublish = (client, packet, done) => {
      if (client && !policy.canPublish(who(client), packet.topic)) {
        log.warn({ client_id: client.id, topic: packet.topic }, 'MQTT publish refused by ACL');
        done(new Error('publish not authorized'));
        return;
      }
      done(null);
    };
    aedes.authorizeSubscribe = (client, sub, done) => {
      if (sub.topic.startsWith('$share/') || !policy.canSubscribe(who(client), sub.topic)) {
        log.warn({ client_id: client.id, topic: sub.topic }, 'MQTT subscription refused');
        done(null, null); // SUBACK 0x80 for this filter; the connection stays up
        return;
      }
      done(null, sub);
    };
    aedes.authorizeForward = (client, packet) => {
      if (packet.topic.startsWith('$SYS')) return null;
      return policy.canReceive(who(client), packet.topic) ? packet : null;
    };
    aedes.on('clientError', (client, err) => log.debug({ client_id: client.id, err: err.message }, 'MQTT client error'));
    aedes.on('connectionError', (client, err) => log.debug({ client_id: client?.id, err: err.message }, 'MQTT connection error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    broker.state = 'listening';
    return broker;
  }

  /** Puts the framing guard in front of the client's packet parser. */
  private guard(client: Client & { _parser?: { parse(buf: Buffer): unknown } }, socket: Socket, limits: { beforeLogin: number; afterLogin: number }): void {
    const parser = client._parser;
    if (!parser) return; // aedes internals changed: the connect timeout still applies
    const packets = new PacketGuard(limits, () => this.identities.has(client));
    const parse = parser.parse.bind(parser);
    let refused = false;
    parser.parse = (buf: Buffer) => {
      if (refused) return undefined;
      const err = packets.feed(buf);
      if (!err) return parse(buf);
      refused = true;
      this.refused('packet_too_large');
      this.log.warn({ client_id: client.id?.slice(0, 128), remote: socket.remoteAddress, announced: err.announced, limit: err.limit }, 'MQTT connection closed: packet too large');
      socket.destroy();
      return undefined;
    };
  }

  /** Remembers a worker id (reserved from read-only clients), bounded: the oldest is forgotten first. */
  private rememberWorker(id: string): void {
    this.workerIds.delete(id);
    this.workerIds.add(id);
    if (this.workerIds.size > MAX_REMEMBERED_WORKER_IDS) this.workerIds.delete(this.workerIds.values().next().value!);
  }

  /** Why this identity may not use its client id now, or undefined. */
  private clientIdRefusal(who: ClientIdentity): { reason: RefusalReason; why: string } | undefined {
    const id = who.clientId;
    const live = (this.aedes as unknown as { clients: Record<string, Client | undefined> }).clients[id];
    const liveWho = live ? this.identities.get(live) : undefined;
    if (who.role === 'master') return undefined;
    if (this.masterIds.has(id)) return { reason: 'reserved_client_id', why: `client id ${JSON.stringify(id.slice(0, 64))} is the master's` };
    if (who.role === 'worker') {
      if (!who.willTopic) return { reason: 'no_will', why: 'a worker must connect with its OFFLINE status as Last Will' };
      if (liveWho && !who.proven) {
        return { reason: 'client_id_takeover', why: `worker ${JSON.stringify(id.slice(0, 64))} is connected; taking over its id needs its own credentials` };
      }
      return undefined;
    }
    // read-only clients (observer, anonymous)
    if (this.workerIds.has(id) || liveWho?.role === 'worker') return { reason: 'reserved_client_id', why: `client id ${JSON.stringify(id.slice(0, 64))} is a worker's` };
    if (live) return { reason: 'client_id_takeover', why: `client id ${JSON.stringify(id.slice(0, 64))} is in use` };
    return undefined;
  }

  get port(): number {
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Publishes as the broker itself (the master's messages to workers): delivered like any publish, ACL filters included. */
  publish(topic: string, payload: Buffer, qos: 0 | 1): void {
    if (this.state !== 'listening') return;
    this.aedes.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, (err) => {
      if (err) this.log.warn({ topic, err: err.message }, 'in-process publish failed');
    });
  }

  /**
   * Receives the messages of `filter` in the broker itself (the master's view of
   * worker statuses): what is retained under it first, then every publish,
   * with no loopback socket, no second parse and no PUBACK per message.
   * Resolves once both are in place; the returned function unsubscribes.
   */
  async subscribe(filter: string, onMessage: (topic: string, payload: Buffer) => void): Promise<() => void> {
    type Packet = { topic: string; payload: Buffer | string };
    const deliver = (packet: Packet): void => {
      try {
        onMessage(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload);
      } catch (err) {
        this.log.warn({ topic: packet.topic, err: (err as Error).message }, 'in-process subscriber failed');
      }
    };
    // Publishes that arrive while the retained ones are read wait, so that a
    // topic's retained message (older) never comes after its newer publish.
    let waiting: Packet[] | undefined = [];
    const handler = (packet: Packet, cb: () => void) => {
      if (waiting) waiting.push(packet);
      else deliver(packet);
      cb();
    };
    await new Promise<void>((resolve, reject) => this.aedes.subscribe(filter, handler as never, (err?: Error) => (err ? reject(err) : resolve())));
    // Retained before the subscription (a worker that announced itself first), unless a newer publish of that topic came meanwhile.
    const retained = (this.aedes as unknown as { persistence: { createRetainedStreamCombi(p: string[]): AsyncIterable<Packet> } }).persistence.createRetainedStreamCombi([filter]);
    for await (const packet of retained) if (!waiting.some((w) => w.topic === packet.topic)) deliver(packet);
    const live = waiting;
    waiting = undefined;
    for (const packet of live) deliver(packet);
    return () => this.aedes.unsubscribe(filter, handler as never, () => undefined);
  }

  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await serverClosed;
    this.state = 'closed';
    this.log.debug('embedded broker closed');
  }
}
