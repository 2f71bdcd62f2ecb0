// Original file: proto/taskwire/v1/cluster.proto

import type { MasterState as _taskwire_v1_MasterState, MasterState__Output as _taskwire_v1_MasterState__Output } from '../../taskwire/v1/MasterState.js';
import type { Long } from '@grpc/proto-loader';

export interface MasterStatus {
  'master_id'?: (string);
  'state'?: (_taskwire_v1_MasterState);
  'protocol'?: (string);
  'version'?: (string);
  /**
   * Where workers reach ResultService. An empty host means
   * "the host you reached the MQTT broker at".
   */
  'grpc_host'?: (string);
  'grpc_port'?: (number);
  'http_port'?: (number);
  'started_at_ms'?: (number | string | Long);
  'ts_ms'?: (number | string | Long);
}

export interface MasterStatus__Output {
  'master_id': (string);
  'state': (_taskwire_v1_MasterState__Output);
  'protocol': (string);
  'version': (string);
  /**
   * Where workers reach ResultService. An empty host means
   * "the host you reached the MQTT broker at".
   */
  'grpc_host': (string);
  'grpc_port': (number);
  'http_port': (number);
  'started_at_ms': (number);
  'ts_ms': (number);
}
