/**
 * Who may do what on the embedded broker (the same rules ship as a Mosquitto
 * password + ACL config in deploy/ for external brokers):
 *
 *   master     (its own generated credentials)   everything under the topic root
 *   worker     client id = worker id; username = the worker id or `worker`;
 *              password = its own per-worker password, or the cluster token
 *              (the token only when no per-worker credentials are configured);
 *              must connect with a Last Will on its own status topic:
 *              publish   {root}/workers/{id}/status, {root}/logs/{id}
 *              subscribe {root}/workers/{id}/tasks, {root}/workers/{id}/control, {root}/master/status
 *   observer   username `observer` + observer password: read status, logs, cluster status
 *   anonymous  read status, logs, cluster status, only when allowed ('localhost' or 'any')
 *
 * Reads are also filtered per message (authorizeForward), so an observer
 * subscribed to `taskwire/v1/#` never receives assignments or control.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ID_PATTERN, type Topics } from '../../common/topics.js';

export type Role = 'master' | 'worker' | 'observer' | 'anonymous';

export interface ClientIdentity {
  clientId: string;
  username: string | undefined;
  role: Role;
  /** A worker that logged in with its own per-worker password (may take over its live id). */
  proven?: boolean;
  /** A worker's Last Will topic, when it is the worker's own status topic. */
  willTopic?: string;
}

export interface ConnectInfo {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string | undefined;
  /** The CONNECT's Last Will topic, if it has one. */
  willTopic?: string;
}

export interface BrokerPolicy {
  /** The client's identity, or undefined to refuse the connection. */
  authenticate(info: ConnectInfo): ClientIdentity | undefined;
  canPublish(client: ClientIdentity, topic: string): boolean;
  canSubscribe(client: ClientIdentity, topicFilter: string): boolean;
  canReceive(client: ClientIdentity, topic: string): boolean;
}

export type AnonymousRead = 'off' | 'localhost' | 'any';

export interface ClusterPolicyOptions {
  topics: Topics;
  master: { username: string; password: string };
  clusterToken?: string;
  /** Per-worker passwords: worker id -> password. */
  workerPasswords?: ReadonlyMap<string, string>;
  observerPassword?: string;
  anonymousRead: AnonymousRead;
}

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();
function same(a: string | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || a === '' || b === undefined) return false;
  return timingSafeEqual(digest(a), digest(b));
}

function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/** Everything allowed except `$share` (aedes would drop those silently). For tests and trusted setups. */
export const OPEN_POLICY: BrokerPolicy = {
  authenticate: (i) => ({ clientId: i.clientId, username: i.username, role: 'master' }),
  canPublish: (_c, topic) => !topic.startsWith('$'),
  canSubscribe: () => true,
  canReceive: () => true,
};

export class ClusterPolicy implements BrokerPolicy {
  private readonly root: string;
  constructor(private readonly o: ClusterPolicyOptions) {
    this.root = o.topics.root;
  }

  authenticate(i: ConnectInfo): ClientIdentity | undefined {
    const base = { clientId: i.clientId, username: i.username };
    if (i.username === this.o.master.username) {
      return same(this.o.master.password, i.password) ? { ...base, role: 'master' } : undefined;
    }
    if (i.username === 'observer') {
      return same(this.o.observerPassword, i.password) ? { ...base, role: 'observer' } : undefined;
    }
    if (i.username !== undefined) {
      // Workers log in as themselves (username = client id) or as the shared
      // `worker` account (as in the shipped Mosquitto config); either way the
      // ACL follows the client id, which is the worker id.
      if ((i.username !== i.clientId && i.username !== 'worker') || !ID_PATTERN.test(i.clientId)) return undefined;
      // With per-worker credentials configured the shared token admits no one:
      // only ids in the credentials file, each with its own password.
      const own = this.o.workerPasswords?.get(i.clientId);
      const perWorker = (this.o.workerPasswords?.size ?? 0) > 0;
      const willTopic = i.willTopic === this.o.topics.workerStatus(i.clientId) ? i.willTopic : undefined;
      if (same(own, i.password)) return { ...base, role: 'worker', proven: true, willTopic };
      if (!perWorker && same(this.o.clusterToken, i.password)) return { ...base, role: 'worker', proven: false, willTopic };
      return undefined;
    }
    if (i.password !== undefined) return undefined;
    const anon = this.o.anonymousRead === 'any' || (this.o.anonymousRead === 'localhost' && isLoopback(i.remoteAddress));
    return anon ? { ...base, role: 'anonymous' } : undefined;
  }

  private under(topic: string): boolean {
    return topic === this.root || topic.startsWith(`${this.root}/`);
  }

  canPublish(c: ClientIdentity, topic: string): boolean {
    if (topic.startsWith('$')) return false;
    switch (c.role) {
      case 'master':
        return this.under(topic);
      case 'worker':
        return topic === this.o.topics.workerStatus(c.clientId) || topic === this.o.topics.log(c.clientId);
      default:
        return false;
    }
  }

  /** Topics readable by observers and anonymous clients. */
  private publicTopic(topic: string): boolean {
    const p = this.o.topics.parse(topic);
    if (!p) return false;
    return (p.kind === 'worker' && p.channel === 'status') || p.kind === 'master-status' || p.kind === 'cluster-status' || p.kind === 'log';
  }

  canSubscribe(c: ClientIdentity, filter: string): boolean {
    if (filter.startsWith('$share/')) return false;
    switch (c.role) {
      case 'master':
        return this.under(filter) || filter === '#';
      case 'worker':
        return (
          filter === this.o.topics.workerTasks(c.clientId) ||
          filter === this.o.topics.workerControl(c.clientId) ||
          filter === this.o.topics.masterStatus()
        );
      default:
        // Read-only clients may use wildcards; what they receive is filtered by canReceive.
        return !filter.startsWith('$');
    }
  }

  canReceive(c: ClientIdentity, topic: string): boolean {
    switch (c.role) {
      case 'master':
        return this.under(topic);
      case 'worker':
        return (
          topic === this.o.topics.workerTasks(c.clientId) ||
          topic === this.o.topics.workerControl(c.clientId) ||
          topic === this.o.topics.masterStatus()
        );
      default:
        return this.publicTopic(topic);
    }
  }
}
