// Original file: proto/taskwire/v1/task.proto

import type { TaskAssignment as _taskwire_v1_TaskAssignment, TaskAssignment__Output as _taskwire_v1_TaskAssignment__Output } from '../../taskwire/v1/TaskAssignment.js';

/**
 * Payload of the tasks topic: one or more assignments, in dispatch order.
 */
export interface Assignments {
  'tasks'?: (_taskwire_v1_TaskAssignment)[];
  /**
   * Id of the master that sent them.
   */
  'master_id'?: (string);
  /**
   * host:port of the ResultService that takes these attempts' results (set by
   * masters in multi-master mode: several masters share the broker, each
   * takes the results of what it dispatched). Empty: the master of the
   * presence topic. A host left out (":port") means the broker's host.
   */
  'result_target'?: (string);
}

/**
 * Payload of the tasks topic: one or more assignments, in dispatch order.
 */
export interface Assignments__Output {
  'tasks': (_taskwire_v1_TaskAssignment__Output)[];
  /**
   * Id of the master that sent them.
   */
  'master_id': (string);
  /**
   * host:port of the ResultService that takes these attempts' results (set by
   * masters in multi-master mode: several masters share the broker, each
   * takes the results of what it dispatched). Empty: the master of the
   * presence topic. A host left out (":port") means the broker's host.
   */
  'result_target': (string);
}
