// Original file: proto/taskwire/v1/task.proto

export const ControlAction = {
  CONTROL_ACTION_UNSPECIFIED: 'CONTROL_ACTION_UNSPECIFIED',
  /**
   * Abort the attempt named by task_id + attempt; report it CANCELLED.
   */
  CONTROL_ACTION_CANCEL: 'CONTROL_ACTION_CANCEL',
  /**
   * Finish running tasks, take no new ones, publish DRAINING.
   */
  CONTROL_ACTION_DRAIN: 'CONTROL_ACTION_DRAIN',
  /**
   * Leave draining, publish ONLINE.
   */
  CONTROL_ACTION_RESUME: 'CONTROL_ACTION_RESUME',
  /**
   * Load (or reload) a model: model_name [+ model_version].
   */
  CONTROL_ACTION_LOAD_MODEL: 'CONTROL_ACTION_LOAD_MODEL',
  CONTROL_ACTION_UNLOAD_MODEL: 'CONTROL_ACTION_UNLOAD_MODEL',
} as const;

export type ControlAction =
  | 'CONTROL_ACTION_UNSPECIFIED'
  | 0
  /**
   * Abort the attempt named by task_id + attempt; report it CANCELLED.
   */
  | 'CONTROL_ACTION_CANCEL'
  | 1
  /**
   * Finish running tasks, take no new ones, publish DRAINING.
   */
  | 'CONTROL_ACTION_DRAIN'
  | 2
  /**
   * Leave draining, publish ONLINE.
   */
  | 'CONTROL_ACTION_RESUME'
  | 3
  /**
   * Load (or reload) a model: model_name [+ model_version].
   */
  | 'CONTROL_ACTION_LOAD_MODEL'
  | 4
  | 'CONTROL_ACTION_UNLOAD_MODEL'
  | 5

export type ControlAction__Output = typeof ControlAction[keyof typeof ControlAction]
