import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { MetricFamily as _taskwire_v1_MetricFamily, MetricFamily__Output as _taskwire_v1_MetricFamily__Output } from './taskwire/v1/MetricFamily.js';
import type { MetricSample as _taskwire_v1_MetricSample, MetricSample__Output as _taskwire_v1_MetricSample__Output } from './taskwire/v1/MetricSample.js';
import type { MetricsSummary as _taskwire_v1_MetricsSummary, MetricsSummary__Output as _taskwire_v1_MetricsSummary__Output } from './taskwire/v1/MetricsSummary.js';
import type { ModelInfo as _taskwire_v1_ModelInfo, ModelInfo__Output as _taskwire_v1_ModelInfo__Output } from './taskwire/v1/ModelInfo.js';
import type { WorkerLoad as _taskwire_v1_WorkerLoad, WorkerLoad__Output as _taskwire_v1_WorkerLoad__Output } from './taskwire/v1/WorkerLoad.js';
import type { WorkerStatus as _taskwire_v1_WorkerStatus, WorkerStatus__Output as _taskwire_v1_WorkerStatus__Output } from './taskwire/v1/WorkerStatus.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  taskwire: {
    v1: {
      MetricFamily: MessageTypeDefinition<_taskwire_v1_MetricFamily, _taskwire_v1_MetricFamily__Output>
      MetricSample: MessageTypeDefinition<_taskwire_v1_MetricSample, _taskwire_v1_MetricSample__Output>
      MetricType: EnumTypeDefinition
      MetricsSummary: MessageTypeDefinition<_taskwire_v1_MetricsSummary, _taskwire_v1_MetricsSummary__Output>
      ModelInfo: MessageTypeDefinition<_taskwire_v1_ModelInfo, _taskwire_v1_ModelInfo__Output>
      WorkerLoad: MessageTypeDefinition<_taskwire_v1_WorkerLoad, _taskwire_v1_WorkerLoad__Output>
      WorkerState: EnumTypeDefinition
      WorkerStatus: MessageTypeDefinition<_taskwire_v1_WorkerStatus, _taskwire_v1_WorkerStatus__Output>
    }
  }
}

