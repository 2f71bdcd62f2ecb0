/**
 * The MQTT payload codecs of protocol v1: one per message type, all generated
 * from proto/ (types) and validated by proto-json.ts (values).
 */
import type { WorkerStatus, WorkerStatus__Output } from './gen/taskwire/v1/WorkerStatus.js';
import type { Assignments as GenAssignments, Assignments__Output as GenAssignments__Output } from './gen/taskwire/v1/Assignments.js';
import type { TaskAssignment as GenTaskAssignment, TaskAssignment__Output as GenTaskAssignment__Output } from './gen/taskwire/v1/TaskAssignment.js';
import type { JsonValue } from './json-value.js';
import type { ControlCommand, ControlCommand__Output } from './gen/taskwire/v1/ControlCommand.js';
import type { MasterStatus, MasterStatus__Output } from './gen/taskwire/v1/MasterStatus.js';
import type { ClusterStatus, ClusterStatus__Output } from './gen/taskwire/v1/ClusterStatus.js';
import type { LogLine, LogLine__Output } from './gen/taskwire/v1/LogLine.js';
import { jsonCodec } from './proto-json.js';
import { KIND_NAME_RULE, isKindName } from './kind-names.js';

export type { WorkerStatus, WorkerStatus__Output } from './gen/taskwire/v1/WorkerStatus.js';
/**
 * Assignments keep the task input as plain JSON on both sides (the codec checks
 * it once): no google.protobuf.Value form on the MQTT path.
 */
export type TaskAssignment = Omit<GenTaskAssignment, 'input'> & { input?: JsonValue };
export type TaskAssignment__Output = Omit<GenTaskAssignment__Output, 'input'> & { input: JsonValue };
export type Assignments = Omit<GenAssignments, 'tasks'> & { tasks?: TaskAssignment[] };
export type Assignments__Output = Omit<GenAssignments__Output, 'tasks'> & { tasks: TaskAssignment__Output[] };
export type { ControlCommand, ControlCommand__Output } from './gen/taskwire/v1/ControlCommand.js';
export type { MasterStatus, MasterStatus__Output } from './gen/taskwire/v1/MasterStatus.js';
export type { ClusterStatus, ClusterStatus__Output } from './gen/taskwire/v1/ClusterStatus.js';
export type { LogLine, LogLine__Output } from './gen/taskwire/v1/LogLine.js';
export type { ModelInfo, ModelInfo__Output } from './gen/taskwire/v1/ModelInfo.js';
export type { WorkerState } from './gen/taskwire/v1/WorkerState.js';

/** Largest MQTT payload either side accepts (assignments carry task input). */
export const MAX_MQTT_PAYLOAD_BYTES = 4 * 1024 * 1024;

export const workerStatusCodec = jsonCodec<WorkerStatus, WorkerStatus__Output>('taskwire.v1.WorkerStatus', 64 * 1024);
export const assignmentsCodec = jsonCodec<Assignments, Assignments__Output>('taskwire.v1.Assignments', MAX_MQTT_PAYLOAD_BYTES, { plainValues: true });
export const controlCodec = jsonCodec<ControlCommand, ControlCommand__Output>('taskwire.v1.ControlCommand', 16 * 1024);
export const masterStatusCodec = jsonCodec<MasterStatus, MasterStatus__Output>('taskwire.v1.MasterStatus', 16 * 1024);
export const clusterStatusCodec = jsonCodec<ClusterStatus, ClusterStatus__Output>('taskwire.v1.ClusterStatus', 64 * 1024);
export const logLineCodec = jsonCodec<LogLine, LogLine__Output>('taskwire.v1.LogLine', 64 * 1024);

/**
 * What the schema cannot say about a worker status: every advertised kind
 * matches the one kind-name pattern of the submit side (common/kind-names.ts),
 * so a worker cannot announce `constructor` or `__proto__`. Undefined when fine.
 */
export function workerStatusProblem(status: Pick<WorkerStatus__Output, 'kinds'>): string | undefined {
  const bad = status.kinds.find((k: string): boolean => !isKindName(k));
  if (bad === undefined) return undefined;
  return `kinds: ${JSON.stringify(bad.slice(0, 64))} is not a kind name (${KIND_NAME_RULE})`;
}
