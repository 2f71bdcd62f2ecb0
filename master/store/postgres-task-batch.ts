/**
 * One flush of the PostgreSQL task store as the writer's batch: a task whose
 * row is not written yet is an insert (in multi-master mode with whether it
 * is left to the shared pool, inserted with no owner), a written one an
 * update, a state-only change a state row; a claimed task's final is
 * announced. `written` is kept current: a final or a hand-off to the pool
 * leaves it.
 */
import { TERMINAL_STATUSES } from '../../common/task-view.js';
import type { TaskRecord } from '../core/task-record.js';
import type { PoolHandOffs } from './pool-hand-offs.js';
import { featuresColumn } from './postgres-schema.js';
import { pgSearchText } from './postgres-task-search.js';
import type { PgBatch } from './postgres-writer.js';
import { serializeFixed, serializeState } from './sqlite-rows.js';

/** The batch of `rows` and `meta`, and the ids of the tasks it hands to the pool. `handOffs`: multi-master only. */
export function taskBatch(
  rows: readonly { task: TaskRecord; full: boolean }[],
  meta: [string, string][],
  written: Set<string>,
  handOffs: PoolHandOffs | undefined,
): { batch: PgBatch; handedOff: string[] } {
  const batch: PgBatch = { insert: [], update: [], state: [], meta };
  const owners = handOffs ? (batch.insertOwners = [] as boolean[]) : undefined;
  const handedOff: string[] = [];
  for (const { task: t, full } of rows) {
    if (!full) batch.state.push([t.status, t.attempt, t.workerId, t.assignedAtMs, t.id]);
    else if (written.has(t.id)) batch.update.push([t.status, t.finishedAtMs, t.attempt, t.workerId, t.assignedAtMs, serializeState(t), t.id, pgSearchText(t)]);
    else {
      batch.insert.push([
        t.id, t.seq, t.status, t.kind, t.sessionId, t.idempotencyKey, t.createdAtMs, t.finishedAtMs,
        t.attempt, t.workerId, t.assignedAtMs, serializeFixed(t), serializeState(t), t.tenant, t.requirement.model ?? null, pgSearchText(t), t.priority, featuresColumn(t.requirement),
      ]);
      if (owners && handOffs) {
        const pooled = handOffs.insertPooled(t);
        owners.push(pooled);
        if (pooled) handedOff.push(t.id);
      }
    }
    if (owners && handOffs && full && TERMINAL_STATUSES.has(t.status) && handOffs.finalOfClaimed(t.id)) (batch.notifyFinals ??= []).push(t.id);
    if (TERMINAL_STATUSES.has(t.status) || handedOff.at(-1) === t.id) written.delete(t.id);
    else written.add(t.id);
  }
  return { batch, handedOff };
}
