// Original file: proto/taskwire/v1/worker.proto


export interface MetricSample {
  'labels'?: ({[key: string]: string});
  /**
   * Counter or gauge value; a histogram's sum.
   */
  'value'?: (number | string);
  /**
   * Histograms: observations in all, and cumulative counts per bound.
   */
  'count'?: (number | string);
  'buckets'?: (number | string)[];
}

export interface MetricSample__Output {
  'labels': ({[key: string]: string});
  /**
   * Counter or gauge value; a histogram's sum.
   */
  'value': (number);
  /**
   * Histograms: observations in all, and cumulative counts per bound.
   */
  'count': (number);
  'buckets': (number)[];
}
