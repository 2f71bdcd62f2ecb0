/**
 * Broker policy of the suite's master: the real ClusterPolicy (workers log in
 * with worker id + cluster token and get the worker ACL), plus a `spy`
 * account with the master's privileges, so the suite sees every topic
 * (assignments included) and can publish forged and malformed messages.
 */
import { ClusterPolicy, type BrokerPolicy, type ClientIdentity, type ConnectInfo } from '../master/transport/broker-policy.js';
import type { Topics } from '../common/topics.js';

export interface SpyPolicyOptions {
  topics: Topics;
  clusterToken: string;
  /** The master's client id: its generated account (`taskwire-master-*`) is accepted only with this id. */
  masterId: string;
  spy: { username: string; password: string };
}

/** The master generates a fresh username with this prefix on every start. */
const MASTER_USERNAME_PREFIX = 'taskwire-master-';

export function spyPolicy(o: SpyPolicyOptions): BrokerPolicy {
  const inner = new ClusterPolicy({ topics: o.topics, master: o.spy, clusterToken: o.clusterToken, anonymousRead: 'off' });
  return {
    authenticate(i: ConnectInfo): ClientIdentity | undefined {
      if (i.clientId === o.masterId && i.username?.startsWith(MASTER_USERNAME_PREFIX)) {
        return { clientId: i.clientId, username: i.username, role: 'master' };
      }
      return inner.authenticate(i);
    },
    canPublish: (c, topic) => inner.canPublish(c, topic),
    canSubscribe: (c, filter) => inner.canSubscribe(c, filter),
    canReceive: (c, topic) => inner.canReceive(c, topic),
  };
}
