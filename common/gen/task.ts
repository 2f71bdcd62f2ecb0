import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { Assignments as _taskwire_v1_Assignments, Assignments__Output as _taskwire_v1_Assignments__Output } from './taskwire/v1/Assignments.js';
import type { ControlCommand as _taskwire_v1_ControlCommand, ControlCommand__Output as _taskwire_v1_ControlCommand__Output } from './taskwire/v1/ControlCommand.js';
import type { TaskAssignment as _taskwire_v1_TaskAssignment, TaskAssignment__Output as _taskwire_v1_TaskAssignment__Output } from './taskwire/v1/TaskAssignment.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
  taskwire: {
    v1: {
      Assignments: MessageTypeDefinition<_taskwire_v1_Assignments, _taskwire_v1_Assignments__Output>
      ControlAction: EnumTypeDefinition
      ControlCommand: MessageTypeDefinition<_taskwire_v1_ControlCommand, _taskwire_v1_ControlCommand__Output>
      TaskAssignment: MessageTypeDefinition<_taskwire_v1_TaskAssignment, _taskwire_v1_TaskAssignment__Output>
    }
  }
}

