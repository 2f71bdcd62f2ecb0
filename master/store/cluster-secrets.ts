/**
 * The secrets a cluster keeps with its tasks: the result-token key (tokens
 * must verify across restarts) and, with the embedded broker, the cluster
 * token workers present (they keep theirs across a master restart). Taken
 * from the options when given, else read from the store, else generated
 * and stored.
 */
import { randomBytes } from 'node:crypto';
import type { TaskStore } from './task-store.js';

export function bootstrapSecrets(store: Pick<TaskStore, 'getMeta' | 'setMeta'>, o: { resultSecret?: string; clusterToken?: string; mqttUrl?: string }): void {
  if (!o.resultSecret) {
    o.resultSecret = store.getMeta('result_secret') ?? randomBytes(32).toString('base64url');
    store.setMeta('result_secret', o.resultSecret);
  }
  if (!o.clusterToken && !o.mqttUrl) {
    o.clusterToken = store.getMeta('cluster_token') ?? randomBytes(24).toString('base64url');
    store.setMeta('cluster_token', o.clusterToken);
  }
}
