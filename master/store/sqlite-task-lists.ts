/**
 * The SQLite store's listings (`list`, a session's tasks): a page of rows
 * with the fresher record of each task the store holds in memory. A row of
 * a task kept on disk only (a big backlog's queued task: core/cold-tasks.ts)
 * is its current state and is shown as read, not made live.
 */
import type Database from 'better-sqlite3';
import type { TaskRecord } from '../core/task-record.js';
import { deserialize, ROW, type Row } from './sqlite-rows.js';

/** What the listings read of the store's memory. */
export interface TaskListSource {
  /** The record in memory (live, recently finished, or with a write pending), if any. */
  fresh(id: string): TaskRecord | undefined;
  /** Tasks whose row may be older than their record, and how many. */
  pending(): { tasks: Iterable<TaskRecord>; count: number };
}

export class SqliteTaskLists {
  private readonly stmt: {
    bySession: Database.Statement<[string, number], Row>;
    list: Database.Statement<[number], Row>;
    listStatus: Database.Statement<[string, number], Row>;
    listTenant: Database.Statement<[string, number], Row>;
    listTenantStatus: Database.Statement<[string, string, number], Row>;
  };

  constructor(
    db: Database.Database,
    private readonly source: TaskListSource,
  ) {
    this.stmt = {
      bySession: db.prepare(`SELECT ${ROW} FROM tasks WHERE session_id = ? ORDER BY seq DESC LIMIT ?`),
      list: db.prepare(`SELECT ${ROW} FROM tasks ORDER BY rowid DESC LIMIT ?`),
      listStatus: db.prepare(`SELECT ${ROW} FROM tasks WHERE status = ? ORDER BY seq DESC LIMIT ?`),
      listTenant: db.prepare(`SELECT ${ROW} FROM tasks WHERE tenant = ? ORDER BY seq DESC LIMIT ?`),
      listTenantStatus: db.prepare(`SELECT ${ROW} FROM tasks WHERE tenant = ? AND status = ? ORDER BY seq DESC LIMIT ?`),
    };
  }

  /**
   * A page of the rows a query finds, newest first, with the fresher record
   * of each task held in memory. O(page), never O(backlog): a row on disk
   * differs from its task only while a write of that task is pending (in
   * `dirty`, a state write in `deferred`, or a batch the writer thread has
   * not acknowledged), so those are checked too, and the query fetches that
   * many rows more, for rows whose task no longer matches.
   */
  private merge(query: (limit: number) => Row[], matches: (t: TaskRecord) => boolean, limit: number): TaskRecord[] {
    const pending = this.source.pending();
    const byId = new Map<string, TaskRecord>();
    for (const r of query(limit + pending.count)) {
      const t = this.source.fresh(r.id) ?? deserialize(r);
      if (matches(t)) byId.set(t.id, t);
    }
    for (const task of pending.tasks) {
      if (matches(task)) byId.set(task.id, task);
      else byId.delete(task.id);
    }
    return [...byId.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  list(filter: { status?: string; tenant?: string; limit: number }): TaskRecord[] {
    const { status, tenant, limit } = filter;
    const query = (n: number) =>
      tenant !== undefined
        ? status ? this.stmt.listTenantStatus.all(tenant, status, n) : this.stmt.listTenant.all(tenant, n)
        : status ? this.stmt.listStatus.all(status, n) : this.stmt.list.all(n);
    return this.merge(query, (t) => (!status || t.status === status) && (tenant === undefined || t.tenant === tenant), limit);
  }

  bySession(sessionId: string, limit: number): TaskRecord[] {
    return this.merge((n) => this.stmt.bySession.all(sessionId, n), (t) => t.sessionId === sessionId, limit);
  }
}
