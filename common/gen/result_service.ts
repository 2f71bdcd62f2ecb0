import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';
import type { BlobChunk as _taskwire_v1_BlobChunk, BlobChunk__Output as _taskwire_v1_BlobChunk__Output } from './taskwire/v1/BlobChunk.js';
import type { FetchBlobRequest as _taskwire_v1_FetchBlobRequest, FetchBlobRequest__Output as _taskwire_v1_FetchBlobRequest__Output } from './taskwire/v1/FetchBlobRequest.js';
import type { FetchSecretsRequest as _taskwire_v1_FetchSecretsRequest, FetchSecretsRequest__Output as _taskwire_v1_FetchSecretsRequest__Output } from './taskwire/v1/FetchSecretsRequest.js';
import type { FetchSecretsResponse as _taskwire_v1_FetchSecretsResponse, FetchSecretsResponse__Output as _taskwire_v1_FetchSecretsResponse__Output } from './taskwire/v1/FetchSecretsResponse.js';
import type { Heartbeat as _taskwire_v1_Heartbeat, Heartbeat__Output as _taskwire_v1_Heartbeat__Output } from './taskwire/v1/Heartbeat.js';
import type { PutBlobChunk as _taskwire_v1_PutBlobChunk, PutBlobChunk__Output as _taskwire_v1_PutBlobChunk__Output } from './taskwire/v1/PutBlobChunk.js';
import type { PutBlobResponse as _taskwire_v1_PutBlobResponse, PutBlobResponse__Output as _taskwire_v1_PutBlobResponse__Output } from './taskwire/v1/PutBlobResponse.js';
import type { ResultBatch as _taskwire_v1_ResultBatch, ResultBatch__Output as _taskwire_v1_ResultBatch__Output } from './taskwire/v1/ResultBatch.js';
import type { ResultChunk as _taskwire_v1_ResultChunk, ResultChunk__Output as _taskwire_v1_ResultChunk__Output } from './taskwire/v1/ResultChunk.js';
import type { ResultEvent as _taskwire_v1_ResultEvent, ResultEvent__Output as _taskwire_v1_ResultEvent__Output } from './taskwire/v1/ResultEvent.js';
import type { ResultServiceClient as _taskwire_v1_ResultServiceClient, ResultServiceDefinition as _taskwire_v1_ResultServiceDefinition } from './taskwire/v1/ResultService.js';
import type { Started as _taskwire_v1_Started, Started__Output as _taskwire_v1_Started__Output } from './taskwire/v1/Started.js';
import type { StreamResultsResponse as _taskwire_v1_StreamResultsResponse, StreamResultsResponse__Output as _taskwire_v1_StreamResultsResponse__Output } from './taskwire/v1/StreamResultsResponse.js';
import type { SubmitResultResponse as _taskwire_v1_SubmitResultResponse, SubmitResultResponse__Output as _taskwire_v1_SubmitResultResponse__Output } from './taskwire/v1/SubmitResultResponse.js';
import type { TaskError as _taskwire_v1_TaskError, TaskError__Output as _taskwire_v1_TaskError__Output } from './taskwire/v1/TaskError.js';
import type { TaskResult as _taskwire_v1_TaskResult, TaskResult__Output as _taskwire_v1_TaskResult__Output } from './taskwire/v1/TaskResult.js';
import type { Usage as _taskwire_v1_Usage, Usage__Output as _taskwire_v1_Usage__Output } from './taskwire/v1/Usage.js';

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
      BlobChunk: MessageTypeDefinition<_taskwire_v1_BlobChunk, _taskwire_v1_BlobChunk__Output>
      Disposition: EnumTypeDefinition
      FetchBlobRequest: MessageTypeDefinition<_taskwire_v1_FetchBlobRequest, _taskwire_v1_FetchBlobRequest__Output>
      FetchSecretsRequest: MessageTypeDefinition<_taskwire_v1_FetchSecretsRequest, _taskwire_v1_FetchSecretsRequest__Output>
      FetchSecretsResponse: MessageTypeDefinition<_taskwire_v1_FetchSecretsResponse, _taskwire_v1_FetchSecretsResponse__Output>
      Heartbeat: MessageTypeDefinition<_taskwire_v1_Heartbeat, _taskwire_v1_Heartbeat__Output>
      PutBlobChunk: MessageTypeDefinition<_taskwire_v1_PutBlobChunk, _taskwire_v1_PutBlobChunk__Output>
      PutBlobResponse: MessageTypeDefinition<_taskwire_v1_PutBlobResponse, _taskwire_v1_PutBlobResponse__Output>
      ResultBatch: MessageTypeDefinition<_taskwire_v1_ResultBatch, _taskwire_v1_ResultBatch__Output>
      ResultChunk: MessageTypeDefinition<_taskwire_v1_ResultChunk, _taskwire_v1_ResultChunk__Output>
      ResultEvent: MessageTypeDefinition<_taskwire_v1_ResultEvent, _taskwire_v1_ResultEvent__Output>
      ResultService: SubtypeConstructor<typeof grpc.Client, _taskwire_v1_ResultServiceClient> & { service: _taskwire_v1_ResultServiceDefinition }
      Started: MessageTypeDefinition<_taskwire_v1_Started, _taskwire_v1_Started__Output>
      StreamResultsResponse: MessageTypeDefinition<_taskwire_v1_StreamResultsResponse, _taskwire_v1_StreamResultsResponse__Output>
      SubmitResultResponse: MessageTypeDefinition<_taskwire_v1_SubmitResultResponse, _taskwire_v1_SubmitResultResponse__Output>
      TaskError: MessageTypeDefinition<_taskwire_v1_TaskError, _taskwire_v1_TaskError__Output>
      TaskOutcome: EnumTypeDefinition
      TaskResult: MessageTypeDefinition<_taskwire_v1_TaskResult, _taskwire_v1_TaskResult__Output>
      Usage: MessageTypeDefinition<_taskwire_v1_Usage, _taskwire_v1_Usage__Output>
    }
  }
}

