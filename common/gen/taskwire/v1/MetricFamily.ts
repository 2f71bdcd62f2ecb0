// Original file: proto/taskwire/v1/worker.proto

import type { MetricType as _taskwire_v1_MetricType, MetricType__Output as _taskwire_v1_MetricType__Output } from '../../taskwire/v1/MetricType.js';
import type { MetricSample as _taskwire_v1_MetricSample, MetricSample__Output as _taskwire_v1_MetricSample__Output } from '../../taskwire/v1/MetricSample.js';

export interface MetricFamily {
  /**
   * e.g. "taskwire_worker_provider_requests_total".
   */
  'name'?: (string);
  'type'?: (_taskwire_v1_MetricType);
  'help'?: (string);
  /**
   * Histograms: the upper bounds of the buckets, ascending, without +Inf.
   */
  'bounds'?: (number | string)[];
  'samples'?: (_taskwire_v1_MetricSample)[];
}

export interface MetricFamily__Output {
  /**
   * e.g. "taskwire_worker_provider_requests_total".
   */
  'name': (string);
  'type': (_taskwire_v1_MetricType__Output);
  'help': (string);
  /**
   * Histograms: the upper bounds of the buckets, ascending, without +Inf.
   */
  'bounds': (number)[];
  'samples': (_taskwire_v1_MetricSample__Output)[];
}
