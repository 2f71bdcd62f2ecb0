// Original file: proto/taskwire/v1/worker.proto

export const WorkerState = {
  WORKER_STATE_UNSPECIFIED: 'WORKER_STATE_UNSPECIFIED',
  /**
   * Connected and accepting assignments up to `capacity`.
   */
  WORKER_STATE_ONLINE: 'WORKER_STATE_ONLINE',
  /**
   * Finishing what it runs; accepts no new assignments.
   */
  WORKER_STATE_DRAINING: 'WORKER_STATE_DRAINING',
  /**
   * Gone: clean shutdown or Last Will.
   */
  WORKER_STATE_OFFLINE: 'WORKER_STATE_OFFLINE',
} as const;

export type WorkerState =
  | 'WORKER_STATE_UNSPECIFIED'
  | 0
  /**
   * Connected and accepting assignments up to `capacity`.
   */
  | 'WORKER_STATE_ONLINE'
  | 1
  /**
   * Finishing what it runs; accepts no new assignments.
   */
  | 'WORKER_STATE_DRAINING'
  | 2
  /**
   * Gone: clean shutdown or Last Will.
   */
  | 'WORKER_STATE_OFFLINE'
  | 3

export type WorkerState__Output = typeof WorkerState[keyof typeof WorkerState]
