// Original file: proto/taskwire/v1/worker.proto


/**
 * Fractions of 1: 0 idle, 1 fully used. Leave out what you cannot measure.
 */
export interface WorkerLoad {
  /**
   * CPU of the worker's host (or of its cgroup), averaged over the last status interval.
   */
  'cpu'?: (number | string);
  /**
   * Memory in use on the host (or of its cgroup limit).
   */
  'memory'?: (number | string);
  /**
   * Busiest GPU's utilisation, where a GPU is present.
   */
  'gpu'?: (number | string);
}

/**
 * Fractions of 1: 0 idle, 1 fully used. Leave out what you cannot measure.
 */
export interface WorkerLoad__Output {
  /**
   * CPU of the worker's host (or of its cgroup), averaged over the last status interval.
   */
  'cpu': (number);
  /**
   * Memory in use on the host (or of its cgroup limit).
   */
  'memory': (number);
  /**
   * Busiest GPU's utilisation, where a GPU is present.
   */
  'gpu': (number);
}
