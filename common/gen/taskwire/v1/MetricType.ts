// Original file: proto/taskwire/v1/worker.proto

export const MetricType = {
  METRIC_TYPE_UNSPECIFIED: 'METRIC_TYPE_UNSPECIFIED',
  METRIC_TYPE_COUNTER: 'METRIC_TYPE_COUNTER',
  METRIC_TYPE_GAUGE: 'METRIC_TYPE_GAUGE',
  METRIC_TYPE_HISTOGRAM: 'METRIC_TYPE_HISTOGRAM',
} as const;

export type MetricType =
  | 'METRIC_TYPE_UNSPECIFIED'
  | 0
  | 'METRIC_TYPE_COUNTER'
  | 1
  | 'METRIC_TYPE_GAUGE'
  | 2
  | 'METRIC_TYPE_HISTOGRAM'
  | 3

export type MetricType__Output = typeof MetricType[keyof typeof MetricType]
