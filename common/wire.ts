/**
 * The MQTT payload codecs of protocol v1: one per message type, all generated
 * from proto/ (types) and validated by proto-json.ts (values).
 */
import type { WorkerStatus, WorkerStatus__Output } from './gen/taskwire/v1/WorkerStatus.js';
import type { Assignments, Assignments__Output } from './gen/taskwire/v1/Assignments.js';
import type { ControlCommand, ControlCommand__Output } from './gen/taskwire/v1/ControlCommand.js';
import type { MasterStatus, MasterStatus__Output } from './gen/taskwire/v1/MasterStatus.js';
import type { ClusterStatus, ClusterStatus__Output } from './gen/taskwire/v1/ClusterStatus.js';
import type { LogLine, LogLine__Output } from './gen/taskwire/v1/LogLine.js';
import { jsonCodec } from './proto-json.js';

export type { WorkerStatus, WorkerStatus__Output } from './gen/taskwire/v1/WorkerStatus.js';
export type { Assignments, Assignments__Output } from './gen/taskwire/v1/Assignments.js';
export type { TaskAssignment, TaskAssignment__Output } from './gen/taskwire/v1/TaskAssignment.js';
export type { ControlCommand, ControlCommand__Output } from './gen/taskwire/v1/ControlCommand.js';
export type { MasterStatus, MasterStatus__Output } from './gen/taskwire/v1/MasterStatus.js';
export type { ClusterStatus, ClusterStatus__Output } from './gen/taskwire/v1/ClusterStatus.js';
export type { LogLine, LogLine__Output } from './gen/taskwire/v1/LogLine.js';
export type { ModelInfo, ModelInfo__Output } from './gen/taskwire/v1/ModelInfo.js';
export type { WorkerState } from './gen/taskwire/v1/WorkerState.js';

/** Largest MQTT payload either side accepts (assignments carry task input). */
export const MAX_MQTT_PAYLOAD_BYTES = 4 * 1024 * 1024;

export const workerStatusCodec = jsonCodec<WorkerStatus, WorkerStatus__Output>('taskwire.v1.WorkerStatus', 64 * 1024);
export const assignmentsCodec = jsonCodec<Assignments, Assignments__Output>('taskwire.v1.Assignments', MAX_MQTT_PAYLOAD_BYTES);
export const controlCodec = jsonCodec<ControlCommand, ControlCommand__Output>('taskwire.v1.ControlCommand', 16 * 1024);
export const masterStatusCodec = jsonCodec<MasterStatus, MasterStatus__Output>('taskwire.v1.MasterStatus', 16 * 1024);
export const clusterStatusCodec = jsonCodec<ClusterStatus, ClusterStatus__Output>('taskwire.v1.ClusterStatus', 64 * 1024);
export const logLineCodec = jsonCodec<LogLine, LogLine__Output>('taskwire.v1.LogLine', 64 * 1024);
