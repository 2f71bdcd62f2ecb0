/** The master's side of the OpenAI-compatible gateway (master/http/openai-gateway.ts). */
import type { GatewayTasks } from './openai-gateway.js';
import { taskView } from '../core/task-record.js';
import type { TaskService } from '../core/task-service.js';
import type { TaskWatchers } from '../core/task-watchers.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';
import type { WorkerStatus__Output } from '../../common/gen/taskwire/v1/WorkerStatus.js';

/**
 * `clusterWorkers`: multi-master, the online workers of every master's share
 * (store/worker-shares.ts): a model another master's worker serves is offered
 * here too (the call goes to the shared pool; its chunks come back through
 * master/cluster-relay/).
 */
export function gatewayTasks(tasks: TaskService, watchers: TaskWatchers, registry: WorkerRegistry, clusterWorkers?: () => readonly WorkerStatus__Output[] | undefined): GatewayTasks {
  const statuses = (): Iterable<WorkerStatus__Output> => clusterWorkers?.() ?? registry.schedulable().map((w) => w.status);
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
      for (const status of statuses()) {
        for (const m of status.models) if (m.kind === kind && m.ready && !seen.has(m.name)) seen.set(m.name, m.provider || 'taskwire');
      }
      return [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([id, owned_by]) => ({ id, owned_by }));
    },
    cooling(kind = 'llm') {
      // Models some online worker lists, none has ready, and at least one is cooling down: the soonest end.
      const ready = new Set<string>();
      const until = new Map<string, number>();
      for (const status of statuses()) {
        for (const m of status.models) {
          if (m.kind !== kind) continue;
          if (m.ready) ready.add(m.name);
          else if (m.cooldown_until_ms > 0) until.set(m.name, Math.min(until.get(m.name) ?? Infinity, m.cooldown_until_ms));
        }
      }
      return [...until].filter(([id]) => !ready.has(id)).map(([id, untilMs]) => ({ id, untilMs }));
    },
  };
}
