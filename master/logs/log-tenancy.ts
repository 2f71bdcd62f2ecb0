/**
 * Whose a kept log line is (its tenant, and the key that owns the task it
 * names), decided once when the master takes the line:
 *
 * | line                                              | tenant                  | owner            |
 * |---------------------------------------------------|-------------------------|------------------|
 * | the master's own                                  | null (cluster)          | null             |
 * | a worker's naming a task the master knows         | the task's tenant       | the task's owner |
 * | a worker's naming a task of a tenant it is not pinned to | null (cluster)   | null             |
 * | a worker's pinned to exactly one tenant, no known task | that tenant        | null             |
 * | any other worker line (shared, or several tenants) | null (cluster)         | null             |
 *
 * A line of a pinned worker that names another tenant's task is a cluster
 * line: the scheduler never gives such a worker that task, so the line is
 * not that tenant's to read, nor the worker's tenant's. Cluster lines are
 * read by cluster operators (tenant `default` with operate) only.
 */

/** What the resolver reads of a task. */
export interface LogTaskLookup {
  get(id: string): { readonly tenant: string; readonly owner: string | null } | undefined;
}

/** What the resolver reads of a worker: the tenants it is pinned to, or null (shared). */
export interface LogWorkerLookup {
  get(id: string): { readonly tenants: ReadonlySet<string> | null } | undefined;
}

export interface LogOwnership {
  readonly tenant: string | null;
  readonly owner: string | null;
}

export const CLUSTER_LINE: LogOwnership = Object.freeze({ tenant: null, owner: null });

/** `(workerId, taskId)` → the line's tenant and owner (workerId null: the master's own line). */
export type LogTenancy = (workerId: string | null, taskId: string | null) => LogOwnership;

/** Every line a cluster line (no task or worker lookups: a master without tenancy wiring, tests). */
export const NO_LOG_TENANCY: LogTenancy = () => CLUSTER_LINE;

export function logTenancy(tasks: LogTaskLookup, workers: LogWorkerLookup): LogTenancy {
  return (workerId, taskId) => {
    if (workerId === null) return CLUSTER_LINE;
    const pins = workers.get(workerId)?.tenants ?? null;
    const task = taskId === null ? undefined : tasks.get(taskId);
    if (task) return pins === null || pins.has(task.tenant) ? { tenant: task.tenant, owner: task.owner } : CLUSTER_LINE;
    if (pins !== null && pins.size === 1) return { tenant: pins.values().next().value!, owner: null };
    return CLUSTER_LINE;
  };
}
