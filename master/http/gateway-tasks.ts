/** The master's side of the OpenAI-compatible gateway (master/http/openai-gateway.ts). */
import type { GatewayTasks } from './openai-gateway.js';
import { taskView } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import type { TaskWatchers } from '../core/task-watchers.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';

export function gatewayTasks(tasks: TaskService, watchers: TaskWatchers, registry: WorkerRegistry): GatewayTasks {
  return {
    async submit(req) {
      return taskView((await tasks.submit({ kind: req.kind, input: req.input, secrets: req.secrets, stream: true, owner: req.owner, tenant: req.tenant, deadlineMs: req.deadlineMs })).task);
    },
    watch(id, listener) {
      return watchers.watch(id, listener);
    },
    cancel(id) {
      if (tasks.get(id)) tasks.cancel(id, 'client went away');
    },
    models(kind = 'llm') {
      const seen = new Map<string, string>();
      for (const w of registry.schedulable()) {
        for (const m of w.status.models) if (m.kind === kind && m.ready && !seen.has(m.name)) seen.set(m.name, m.provider || 'taskwire');
      }
      return [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([id, owned_by]) => ({ id, owned_by }));
    },
  };
}
