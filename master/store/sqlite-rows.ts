/**
 * How a task record is laid out in a row of the SQLite store (columns and
 * the two JSON columns), and back. Used by the store's hot path.
 */
import { DEFAULT_TENANT, initialState, isInitialState, type TaskRecord, type TaskStateField } from '../core/task-record.js';
import { requirementKey } from '../../common/task-kinds.js';

/**
 * A row keeps a task's searchable fields in columns (id, seq, kind, session,
 * idempotency key, created, and the state: status, attempt, worker, assigned,
 * finished; always current, also after a state-only write) and the rest in
 * two JSON columns: `record`, the fields fixed at submit (written once: a
 * large input is never re-serialized), and `state`, the other changing fields
 * (NULL while the task is as submitted; null/false/0 values left out). The
 * JSON repeats nothing the columns hold: a smaller row is a cheaper write.
 * Secrets, the result token and the lease are never stored. (Object literals,
 * not loops over field names: this runs on the master's hot path.)
 */
type ColumnField = 'id' | 'seq' | 'kind' | 'sessionId' | 'idempotencyKey' | 'createdAtMs' | 'status' | 'attempt' | 'workerId' | 'assignedAtMs' | 'finishedAtMs';
type FixedField = 'input' | 'priority' | 'requirement' | 'stream' | 'timeoutMs' | 'queueTimeoutMs' | 'heartbeatTimeoutMs' | 'maxAttempts' | 'tenant' | 'owner';
type StateJsonField = Exclude<TaskStateField, ColumnField>;
/** Derived on read (`key`) or never stored (`usageAttempt`, `inputBytes`, `resources`: the usage ledger's, for the live task). */
type NotStored = 'key' | 'secrets' | 'token' | 'leaseUntilMs' | 'usageAttempt' | 'inputBytes' | 'resources';
// Compile-time check: every field of a task is stored somewhere, or deliberately not.
type Unplaced = Exclude<keyof TaskRecord, ColumnField | FixedField | StateJsonField | NotStored>;
const everyFieldPlaced: [Unplaced] extends [never] ? true : Unplaced = true;
void everyFieldPlaced;

export type Row = {
  id: string; seq: number; status: string; kind: string; session_id: string | null; idempotency_key: string | null; created_at: number;
  finished_at: number | null; attempt: number; worker_id: string | null; assigned_at: number | null; record: string; state: string | null;
};
export const ROW = 'id, seq, status, kind, session_id, idempotency_key, created_at, finished_at, attempt, worker_id, assigned_at, record, state';

export function serializeFixed(t: TaskRecord): string {
  const fixed: { -readonly [K in FixedField]?: TaskRecord[K] } = {
    input: t.input, priority: t.priority, requirement: t.requirement, stream: t.stream,
    timeoutMs: t.timeoutMs, queueTimeoutMs: t.queueTimeoutMs, heartbeatTimeoutMs: t.heartbeatTimeoutMs, maxAttempts: t.maxAttempts,
  };
  // Left out when default / none (rows from before tenancy read the same way); the `tenant` column is generated from it.
  if (t.tenant !== undefined && t.tenant !== DEFAULT_TENANT) fixed.tenant = t.tenant;
  if (t.owner !== undefined && t.owner !== null) fixed.owner = t.owner;
  return JSON.stringify(fixed);
}

export function serializeState(t: TaskRecord): string | null {
  if (isInitialState(t)) return null;
  const state: Partial<Pick<TaskRecord, StateJsonField>> = { history: t.history };
  if (t.workerLanguage !== null) state.workerLanguage = t.workerLanguage;
  if (t.startedAtMs !== null) state.startedAtMs = t.startedAtMs;
  if (t.firstChunkAtMs !== null) state.firstChunkAtMs = t.firstChunkAtMs;
  if (t.lastSeq !== 0) state.lastSeq = t.lastSeq;
  if (t.result !== null) state.result = t.result;
  if (t.error !== null) state.error = t.error;
  if (t.usage !== null) state.usage = t.usage;
  if (t.cancelRequested) state.cancelRequested = true;
  return JSON.stringify(state);
}

/**
 * Defaults, then the JSON, then the columns (which win: a state-only write
 * updates only them). Rows from before this layout repeat every field in
 * their JSON; the columns still win.
 */
export function deserialize(r: Row): TaskRecord {
  const t = initialState(r.created_at) as TaskRecord;
  Object.assign(t, { tenant: DEFAULT_TENANT, owner: null }, JSON.parse(r.record));
  if (r.state !== null) Object.assign(t, JSON.parse(r.state));
  Object.assign(t, { id: r.id, kind: r.kind });
  t.seq = r.seq;
  t.sessionId = r.session_id;
  t.idempotencyKey = r.idempotency_key;
  t.createdAtMs = r.created_at;
  t.status = r.status as TaskRecord['status'];
  t.attempt = r.attempt;
  t.workerId = r.worker_id;
  t.assignedAtMs = r.assigned_at;
  t.finishedAtMs = r.finished_at;
  Object.assign(t, { key: requirementKey(t.requirement) });
  t.secrets = null; // never stored
  t.leaseUntilMs = null;
  return t;
}
