/** Retry and cancel of one task (operator), shared by the list and the task page. */
import { ApiError } from './api.js';
import type { DashboardContext } from './context.js';
import type { TaskView } from './types.js';

export async function retryTask(ctx: DashboardContext, id: string): Promise<string | undefined> {
  try {
    const out = await ctx.api.post<{ task: TaskView; created: boolean }>(`/api/v1/tasks/${encodeURIComponent(id)}/retry`);
    ctx.notify(out.created ? `Retried as ${out.task.id}` : `Already retried as ${out.task.id}`, 'info');
    return out.task.id;
  } catch (err) {
    ctx.notify(`Retry ${id}: ${err instanceof ApiError ? err.message : String(err)}`, 'error');
    return undefined;
  }
}

export async function cancelTask(ctx: DashboardContext, id: string): Promise<boolean> {
  try {
    await ctx.api.post<TaskView>(`/api/v1/tasks/${encodeURIComponent(id)}/cancel`);
    ctx.notify(`Cancelled ${id}`, 'info');
    return true;
  } catch (err) {
    ctx.notify(`Cancel ${id}: ${err instanceof ApiError ? err.message : String(err)}`, 'error');
    return false;
  }
}
