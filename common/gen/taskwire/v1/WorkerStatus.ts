// Original file: proto/taskwire/v1/worker.proto

import type { WorkerState as _taskwire_v1_WorkerState, WorkerState__Output as _taskwire_v1_WorkerState__Output } from '../../taskwire/v1/WorkerState.js';
import type { ModelInfo as _taskwire_v1_ModelInfo, ModelInfo__Output as _taskwire_v1_ModelInfo__Output } from '../../taskwire/v1/ModelInfo.js';
import type { WorkerLoad as _taskwire_v1_WorkerLoad, WorkerLoad__Output as _taskwire_v1_WorkerLoad__Output } from '../../taskwire/v1/WorkerLoad.js';
import type { MetricsSummary as _taskwire_v1_MetricsSummary, MetricsSummary__Output as _taskwire_v1_MetricsSummary__Output } from '../../taskwire/v1/MetricsSummary.js';
import type { Long } from '@grpc/proto-loader';

export interface WorkerStatus {
  'worker_id'?: (string);
  'state'?: (_taskwire_v1_WorkerState);
  /**
   * Task kinds this worker runs. Every worker runs "echo" and "sleep".
   */
  'kinds'?: (string)[];
  /**
   * How many tasks it runs at once (>= 1).
   */
  'capacity'?: (number);
  /**
   * How many it runs now (informational; the master keeps its own count).
   */
  'running'?: (number);
  /**
   * Implementation language, e.g. "typescript", "python", "go".
   */
  'language'?: (string);
  /**
   * Implementation version.
   */
  'version'?: (string);
  /**
   * Protocol spoken: always "taskwire.v1" for this file.
   */
  'protocol'?: (string);
  'hostname'?: (string);
  'pid'?: (number);
  /**
   * Unix epoch milliseconds.
   */
  'started_at_ms'?: (number | string | Long);
  'ts_ms'?: (number | string | Long);
  'models'?: (_taskwire_v1_ModelInfo)[];
  /**
   * Free-form labels for placement, e.g. {"gpu": "true"}.
   */
  'labels'?: ({[key: string]: string});
  /**
   * Why it went offline or is draining, if it says.
   */
  'reason'?: (string);
  /**
   * What the worker's host is busy with, if it reports it (the `least-load`
   * placement strategy reads it; a worker that sends none is placed by its
   * in-flight count).
   */
  'load'?: (_taskwire_v1_WorkerLoad | null);
  /**
   * A compact copy of the worker's own metrics, if it reports them: the
   * master exposes them on its /metrics labelled by worker_id, so one scrape
   * of the master covers the cluster. A status without it keeps the last one.
   */
  'metrics'?: (_taskwire_v1_MetricsSummary | null);
  /**
   * What it supports within its kinds, each "<kind>:<feature>", e.g.
   * "image:op:resize", "image:format:avif". A worker that lists at least one
   * feature of a kind supports exactly those features of it; a worker that
   * lists none of a kind (every worker from before this field) is taken to
   * support all of it. The master places a task that needs features (an image
   * chain's operations and output format) only on a worker that has them all.
   */
  'features'?: (string)[];
}

export interface WorkerStatus__Output {
  'worker_id': (string);
  'state': (_taskwire_v1_WorkerState__Output);
  /**
   * Task kinds this worker runs. Every worker runs "echo" and "sleep".
   */
  'kinds': (string)[];
  /**
   * How many tasks it runs at once (>= 1).
   */
  'capacity': (number);
  /**
   * How many it runs now (informational; the master keeps its own count).
   */
  'running': (number);
  /**
   * Implementation language, e.g. "typescript", "python", "go".
   */
  'language': (string);
  /**
   * Implementation version.
   */
  'version': (string);
  /**
   * Protocol spoken: always "taskwire.v1" for this file.
   */
  'protocol': (string);
  'hostname': (string);
  'pid': (number);
  /**
   * Unix epoch milliseconds.
   */
  'started_at_ms': (number);
  'ts_ms': (number);
  'models': (_taskwire_v1_ModelInfo__Output)[];
  /**
   * Free-form labels for placement, e.g. {"gpu": "true"}.
   */
  'labels': ({[key: string]: string});
  /**
   * Why it went offline or is draining, if it says.
   */
  'reason': (string);
  /**
   * What the worker's host is busy with, if it reports it (the `least-load`
   * placement strategy reads it; a worker that sends none is placed by its
   * in-flight count).
   */
  'load': (_taskwire_v1_WorkerLoad__Output | null);
  /**
   * A compact copy of the worker's own metrics, if it reports them: the
   * master exposes them on its /metrics labelled by worker_id, so one scrape
   * of the master covers the cluster. A status without it keeps the last one.
   */
  'metrics': (_taskwire_v1_MetricsSummary__Output | null);
  /**
   * What it supports within its kinds, each "<kind>:<feature>", e.g.
   * "image:op:resize", "image:format:avif". A worker that lists at least one
   * feature of a kind supports exactly those features of it; a worker that
   * lists none of a kind (every worker from before this field) is taken to
   * support all of it. The master places a task that needs features (an image
   * chain's operations and output format) only on a worker that has them all.
   */
  'features': (string)[];
}
