/**
 * The embedded MQTT 3.1.1 broker (aedes) on a TCP server with TCP_NODELAY
 * (without it one QoS1 round trip costs ~44 ms of Nagle delay).
 * Authentication and ACLs are delegated to a BrokerPolicy.
 */
import { createServer, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from '../../common/logger.js';

import type { BrokerPolicy, ClientIdentity } from './broker-policy.js';

export { OPEN_POLICY } from './broker-policy.js';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  policy: BrokerPolicy;
  log: Logger;
  /** Largest packet a client may send, bytes. */
  maxPacketBytes?: number;
}

type State = 'idle' | 'listening' | 'closing' | 'closed';

export class EmbeddedBroker {
  private state: State = 'idle';
  private readonly identities = new WeakMap<Client, ClientIdentity>();
  private constructor(
    readonly aedes: Aedes,
    private readonly server: Server,
    private readonly log: Logger,
  ) {}

  static async create(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    const { policy, log } = options;
    const aedes = await Aedes.createBroker({ id: 'taskwire-embedded', heartbeatInterval: 5000, connectTimeout: 10000 });
    const server = createServer({ noDelay: true }, aedes.handle);
    const broker = new EmbeddedBroker(aedes, server, log);
    const identities = broker.identities;
    aedes.authenticate = (client, username, password, done) => {
      const remoteAddress = (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
      const identity = policy.authenticate({ clientId: client.id, username: username ?? undefined, password: password ?? undefined, remoteAddress });
      if (identity) {
        identities.set(client, identity);
        done(null, true);
      } else {
        log.warn({ client_id: client.id, username }, 'MQTT client refused: bad credentials');
        const err = Object.assign(new Error('Bad username or password'), { returnCode: 4 });
        done(err as never, false);
      }
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
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    broker.state = 'listening';
    return broker;
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
