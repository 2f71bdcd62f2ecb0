// Original file: proto/taskwire/v1/cluster.proto

import type { WorkerCounts as _taskwire_v1_WorkerCounts, WorkerCounts__Output as _taskwire_v1_WorkerCounts__Output } from '../../taskwire/v1/WorkerCounts.js';
import type { Long } from '@grpc/proto-loader';

export interface ClusterStatus {
  'master_id'?: (string);
  'ts_ms'?: (number | string | Long);
  'workers'?: (_taskwire_v1_WorkerCounts | null);
  'queued'?: (number);
  'running'?: (number);
  /**
   * Capacity summed over online workers, and how much of it is in use.
   */
  'capacity'?: (number);
  /**
   * Per second, averaged over the last interval.
   */
  'submitted_per_s'?: (number | string);
  'completed_per_s'?: (number | string);
  'failed_per_s'?: (number | string);
  'total_submitted'?: (number | string | Long);
  'total_completed'?: (number | string | Long);
  'total_failed'?: (number | string | Long);
}

export interface ClusterStatus__Output {
  'master_id': (string);
  'ts_ms': (number);
  'workers': (_taskwire_v1_WorkerCounts__Output | null);
  'queued': (number);
  'running': (number);
  /**
   * Capacity summed over online workers, and how much of it is in use.
   */
  'capacity': (number);
  /**
   * Per second, averaged over the last interval.
   */
  'submitted_per_s': (number);
  'completed_per_s': (number);
  'failed_per_s': (number);
  'total_submitted': (number);
  'total_completed': (number);
  'total_failed': (number);
}
