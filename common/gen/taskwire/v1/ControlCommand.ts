// Original file: proto/taskwire/v1/task.proto

import type { ControlAction as _taskwire_v1_ControlAction, ControlAction__Output as _taskwire_v1_ControlAction__Output } from '../../taskwire/v1/ControlAction.js';

export interface ControlCommand {
  'action'?: (_taskwire_v1_ControlAction);
  'task_id'?: (string);
  'attempt'?: (number);
  'reason'?: (string);
  'model_name'?: (string);
  'model_version'?: (string);
}

export interface ControlCommand__Output {
  'action': (_taskwire_v1_ControlAction__Output);
  'task_id': (string);
  'attempt': (number);
  'reason': (string);
  'model_name': (string);
  'model_version': (string);
}
