/**
 * The embedded MQTT broker as the master starts it (no TASKWIRE_MQTT_URL):
 * the master's own account, fresh every start, and the cluster's policy
 * (workers, observer, anonymous read) unless one is given.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../common/logger.js';
import type { Topics } from '../common/topics.js';
import type { ResolvedMasterOptions } from './config.js';
import { EmbeddedBroker, type EmbeddedBrokerOptions } from './transport/broker.js';
import { ClusterPolicy, type BrokerPolicy } from './transport/broker-policy.js';

export interface EmbeddedBrokerParts {
  topics: Topics;
  /** The broker's policy (default: the cluster's, from the options). */
  policy: BrokerPolicy | undefined;
  log: Logger;
  onRefusal: EmbeddedBrokerOptions['onRefusal'];
}

/** Starts the embedded broker; returns it with the master's account on it. */
export async function openEmbeddedBroker(o: ResolvedMasterOptions, parts: EmbeddedBrokerParts): Promise<{ broker: EmbeddedBroker; username: string; password: string }> {
  // The master's own account on the embedded broker: fresh every start.
  const username = `taskwire-master-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(24).toString('base64url');
  const policy =
    parts.policy ??
    new ClusterPolicy({
      topics: parts.topics,
      master: { username, password },
      clusterToken: o.clusterToken,
      workerPasswords: new Map(Object.entries(o.workerPasswords)),
      observerPassword: o.observerPassword,
      anonymousRead: o.anonymousRead,
    });
  const broker = await EmbeddedBroker.create({ host: o.bindHost, port: o.mqttPort, policy, log: parts.log, onRefusal: parts.onRefusal });
  return { broker, username, password };
}
