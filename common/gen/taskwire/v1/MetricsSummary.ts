// Original file: proto/taskwire/v1/worker.proto

import type { MetricFamily as _taskwire_v1_MetricFamily, MetricFamily__Output as _taskwire_v1_MetricFamily__Output } from '../../taskwire/v1/MetricFamily.js';

/**
 * Metric families in Prometheus terms (names and labels as the worker's own
 * /metrics has them, without worker_id: the master adds it).
 */
export interface MetricsSummary {
  'families'?: (_taskwire_v1_MetricFamily)[];
}

/**
 * Metric families in Prometheus terms (names and labels as the worker's own
 * /metrics has them, without worker_id: the master adds it).
 */
export interface MetricsSummary__Output {
  'families': (_taskwire_v1_MetricFamily__Output)[];
}
