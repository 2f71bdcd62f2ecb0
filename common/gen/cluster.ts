import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ClusterStatus as _taskwire_v1_ClusterStatus, ClusterStatus__Output as _taskwire_v1_ClusterStatus__Output } from './taskwire/v1/ClusterStatus.js';
import type { LogLine as _taskwire_v1_LogLine, LogLine__Output as _taskwire_v1_LogLine__Output } from './taskwire/v1/LogLine.js';
import type { MasterStatus as _taskwire_v1_MasterStatus, MasterStatus__Output as _taskwire_v1_MasterStatus__Output } from './taskwire/v1/MasterStatus.js';
import type { WorkerCounts as _taskwire_v1_WorkerCounts, WorkerCounts__Output as _taskwire_v1_WorkerCounts__Output } from './taskwire/v1/WorkerCounts.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  taskwire: {
    v1: {
      ClusterStatus: MessageTypeDefinition<_taskwire_v1_ClusterStatus, _taskwire_v1_ClusterStatus__Output>
      LogLine: MessageTypeDefinition<_taskwire_v1_LogLine, _taskwire_v1_LogLine__Output>
      MasterState: EnumTypeDefinition
      MasterStatus: MessageTypeDefinition<_taskwire_v1_MasterStatus, _taskwire_v1_MasterStatus__Output>
      WorkerCounts: MessageTypeDefinition<_taskwire_v1_WorkerCounts, _taskwire_v1_WorkerCounts__Output>
    }
  }
}

