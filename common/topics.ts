/**
 * The only module that builds or parses MQTT topic names (protocol v1).
 *
 *   {root}/workers/{workerId}/status    retained QoS1  WorkerStatus (LWT: OFFLINE)
 *   {root}/workers/{workerId}/tasks     QoS1           Assignments
 *   {root}/workers/{workerId}/control   QoS1           ControlCommand
 *   {root}/master/status                retained QoS1  MasterStatus
 *   {root}/cluster/status               retained QoS0  ClusterStatus
 *   {root}/logs/{source}                QoS0           LogLine
 *   {root}/masters/{masterId}/chunks    QoS1           chunks relayed between masters (multi-master; masters only)
 */
import { ValidationError } from './errors.js';

export const DEFAULT_TOPIC_ROOT = 'taskwire/v1';

/** Worker ids / log sources: safe in a topic level and in a URL path. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function assertId(id: string, what = 'id'): string {
  if (!ID_PATTERN.test(id)) {
    throw new ValidationError(what, `must match ${ID_PATTERN} (letters, digits, '.', '_', '-'; at most 128)`);
  }
  return id;
}

export function assertTopicRoot(root: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(root) || root.startsWith('$')) {
    throw new ValidationError('topic root', `"${root}" must be '/'-separated levels without wildcards`);
  }
  return root;
}

export type WorkerTopicKind = 'status' | 'tasks' | 'control';

export type ParsedTopic =
  | { kind: 'worker'; workerId: string; channel: WorkerTopicKind }
  | { kind: 'master-status' }
  | { kind: 'cluster-status' }
  | { kind: 'log'; source: string };

export class Topics {
  readonly root: string;
  private readonly prefix: string;

  constructor(root: string = DEFAULT_TOPIC_ROOT) {
    this.root = assertTopicRoot(root);
    this.prefix = `${root}/`;
  }

  workerStatus(workerId: string): string {
    return `${this.root}/workers/${workerId}/status`;
  }
  workerTasks(workerId: string): string {
    return `${this.root}/workers/${workerId}/tasks`;
  }
  workerControl(workerId: string): string {
    return `${this.root}/workers/${workerId}/control`;
  }
  masterStatus(): string {
    return `${this.root}/master/status`;
  }
  clusterStatus(): string {
    return `${this.root}/cluster/status`;
  }
  log(source: string): string {
    return `${this.root}/logs/${source}`;
  }
  /** Multi-master: chunks and ends of tasks relayed to this master (master/cluster-relay/). */
  masterChunks(masterId: string): string {
    return `${this.root}/masters/${masterId}/chunks`;
  }

  /** Subscription filters. */
  allWorkerStatus(): string {
    return `${this.root}/workers/+/status`;
  }
  allLogs(): string {
    return `${this.root}/logs/#`;
  }
  everything(): string {
    return `${this.root}/#`;
  }

  /** Parses a concrete topic; undefined if it is not one of ours. */
  parse(topic: string): ParsedTopic | undefined {
    if (!topic.startsWith(this.prefix)) return undefined;
    const parts = topic.slice(this.prefix.length).split('/');
    if (parts[0] === 'workers' && parts.length === 3) {
      const [, workerId, channel] = parts as [string, string, string];
      if (!ID_PATTERN.test(workerId)) return undefined;
      if (channel === 'status' || channel === 'tasks' || channel === 'control') {
        return { kind: 'worker', workerId, channel };
      }
      return undefined;
    }
    if (parts.length === 2 && parts[0] === 'master' && parts[1] === 'status') return { kind: 'master-status' };
    if (parts.length === 2 && parts[0] === 'cluster' && parts[1] === 'status') return { kind: 'cluster-status' };
    if (parts.length === 2 && parts[0] === 'logs' && ID_PATTERN.test(parts[1]!)) return { kind: 'log', source: parts[1]! };
    return undefined;
  }
}
