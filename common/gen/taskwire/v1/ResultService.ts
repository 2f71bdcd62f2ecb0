// Original file: proto/taskwire/v1/result_service.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { FetchSecretsRequest as _taskwire_v1_FetchSecretsRequest, FetchSecretsRequest__Output as _taskwire_v1_FetchSecretsRequest__Output } from '../../taskwire/v1/FetchSecretsRequest.js';
import type { FetchSecretsResponse as _taskwire_v1_FetchSecretsResponse, FetchSecretsResponse__Output as _taskwire_v1_FetchSecretsResponse__Output } from '../../taskwire/v1/FetchSecretsResponse.js';
import type { ResultBatch as _taskwire_v1_ResultBatch, ResultBatch__Output as _taskwire_v1_ResultBatch__Output } from '../../taskwire/v1/ResultBatch.js';
import type { StreamResultsResponse as _taskwire_v1_StreamResultsResponse, StreamResultsResponse__Output as _taskwire_v1_StreamResultsResponse__Output } from '../../taskwire/v1/StreamResultsResponse.js';
import type { SubmitResultResponse as _taskwire_v1_SubmitResultResponse, SubmitResultResponse__Output as _taskwire_v1_SubmitResultResponse__Output } from '../../taskwire/v1/SubmitResultResponse.js';
import type { TaskResult as _taskwire_v1_TaskResult, TaskResult__Output as _taskwire_v1_TaskResult__Output } from '../../taskwire/v1/TaskResult.js';

export interface ResultServiceClient extends grpc.Client {
  /**
   * Secrets an assignment names in `secret_names` (e.g. a user's API key),
   * released only to the attempt holding a valid result token.
   */
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  FetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Secrets an assignment names in `secret_names` (e.g. a user's API key),
   * released only to the attempt holding a valid result token.
   */
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  fetchSecrets(argument: _taskwire_v1_FetchSecretsRequest, callback: grpc.requestCallback<_taskwire_v1_FetchSecretsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Long-lived stream of result events (started, chunks, heartbeats, finals)
   * for many tasks. Events of one attempt carry increasing `seq`.
   */
  StreamResults(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  StreamResults(metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  StreamResults(options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  StreamResults(callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  /**
   * Long-lived stream of result events (started, chunks, heartbeats, finals)
   * for many tasks. Events of one attempt carry increasing `seq`.
   */
  streamResults(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  streamResults(metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  streamResults(options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  streamResults(callback: grpc.requestCallback<_taskwire_v1_StreamResultsResponse__Output>): grpc.ClientWritableStream<_taskwire_v1_ResultBatch>;
  
  /**
   * The final result of one attempt. Idempotent: re-sending an accepted
   * result answers DUPLICATE, so a worker may retry after a broken stream.
   */
  SubmitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  SubmitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  SubmitResult(argument: _taskwire_v1_TaskResult, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  SubmitResult(argument: _taskwire_v1_TaskResult, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The final result of one attempt. Idempotent: re-sending an accepted
   * result answers DUPLICATE, so a worker may retry after a broken stream.
   */
  submitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  submitResult(argument: _taskwire_v1_TaskResult, metadata: grpc.Metadata, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  submitResult(argument: _taskwire_v1_TaskResult, options: grpc.CallOptions, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  submitResult(argument: _taskwire_v1_TaskResult, callback: grpc.requestCallback<_taskwire_v1_SubmitResultResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface ResultServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Secrets an assignment names in `secret_names` (e.g. a user's API key),
   * released only to the attempt holding a valid result token.
   */
  FetchSecrets: grpc.handleUnaryCall<_taskwire_v1_FetchSecretsRequest__Output, _taskwire_v1_FetchSecretsResponse>;
  
  /**
   * Long-lived stream of result events (started, chunks, heartbeats, finals)
   * for many tasks. Events of one attempt carry increasing `seq`.
   */
  StreamResults: grpc.handleClientStreamingCall<_taskwire_v1_ResultBatch__Output, _taskwire_v1_StreamResultsResponse>;
  
  /**
   * The final result of one attempt. Idempotent: re-sending an accepted
   * result answers DUPLICATE, so a worker may retry after a broken stream.
   */
  SubmitResult: grpc.handleUnaryCall<_taskwire_v1_TaskResult__Output, _taskwire_v1_SubmitResultResponse>;
  
}

export interface ResultServiceDefinition extends grpc.ServiceDefinition {
  FetchSecrets: MethodDefinition<_taskwire_v1_FetchSecretsRequest, _taskwire_v1_FetchSecretsResponse, _taskwire_v1_FetchSecretsRequest__Output, _taskwire_v1_FetchSecretsResponse__Output>
  StreamResults: MethodDefinition<_taskwire_v1_ResultBatch, _taskwire_v1_StreamResultsResponse, _taskwire_v1_ResultBatch__Output, _taskwire_v1_StreamResultsResponse__Output>
  SubmitResult: MethodDefinition<_taskwire_v1_TaskResult, _taskwire_v1_SubmitResultResponse, _taskwire_v1_TaskResult__Output, _taskwire_v1_SubmitResultResponse__Output>
}
