// Original file: proto/taskwire/v1/result_service.proto

export const TaskOutcome = {
  TASK_OUTCOME_UNSPECIFIED: 'TASK_OUTCOME_UNSPECIFIED',
  TASK_OUTCOME_SUCCEEDED: 'TASK_OUTCOME_SUCCEEDED',
  TASK_OUTCOME_FAILED: 'TASK_OUTCOME_FAILED',
  TASK_OUTCOME_CANCELLED: 'TASK_OUTCOME_CANCELLED',
} as const;

export type TaskOutcome =
  | 'TASK_OUTCOME_UNSPECIFIED'
  | 0
  | 'TASK_OUTCOME_SUCCEEDED'
  | 1
  | 'TASK_OUTCOME_FAILED'
  | 2
  | 'TASK_OUTCOME_CANCELLED'
  | 3

export type TaskOutcome__Output = typeof TaskOutcome[keyof typeof TaskOutcome]
