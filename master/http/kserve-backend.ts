/**
 * The master's side of the KServe v2 REST API (master/http/kserve-api.ts):
 * each inference request becomes an `infer` task scheduled to a worker that
 * has the model ready, like any other task.
 */
import type { JsonValue } from '../../common/json-value.js';
import type { InferOutput, KserveInferRequest, KserveModelMetadata } from '../../common/kinds/inference.js';
import type { TaskView } from '../../common/task-view.js';
import type { KserveBackend, KserveCaller, KserveModel } from './kserve-api.js';
import type { TaskService } from '../core/task-service.js';
import type { TaskWatchers } from '../core/task-watchers.js';
import type { WorkerRegistry } from '../scheduling/worker-registry.js';

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

export function kserveBackend(tasks: TaskService, watchers: TaskWatchers, registry: WorkerRegistry, isRunning: () => boolean): KserveBackend {
  const models = (): KserveModel[] => {
    const byName = new Map<string, KserveModel>();
    for (const w of registry.schedulable()) {
      for (const m of w.status.models) {
        if (m.kind !== 'infer') continue;
        const k = byName.get(m.name) ?? { name: m.name, versions: [], ready: false };
        k.versions = [...new Set([...k.versions, ...m.versions])].sort((a, b) => Number(a) - Number(b));
        k.ready ||= m.ready;
        byName.set(m.name, k);
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  };

  /** Runs an infer task to its end; rejects with the task's error code. */
  const run = async (input: JsonValue, signal?: AbortSignal, caller: KserveCaller = {}): Promise<TaskView> => {
    const { task } = await tasks.submit({ kind: 'infer', input, stream: false, owner: caller.owner, tenant: caller.tenant }); // durable before it runs
    const done = new Promise<TaskView>((resolve) => watchers.watch(task.id, { chunk: () => undefined, done: resolve }));
    const onAbort = () => tasks.cancel(task.id, 'client went away');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  };

  const requireModel = (name: string, version: string | undefined) => {
    const m = models().find((x) => x.name === name);
    if (!m) throw coded('MODEL_NOT_FOUND', `no worker serves model "${name}"`);
    if (version !== undefined && !m.versions.includes(version)) throw coded('MODEL_NOT_FOUND', `model "${name}" has no version "${version}" (versions: ${m.versions.join(', ')})`);
    if (!m.ready) throw coded('UNAVAILABLE', `model "${name}" is not ready on any worker`);
  };

  const outcome = (t: TaskView): unknown => {
    if (t.status === 'succeeded') return t.result;
    throw coded(t.error?.code ?? 'INTERNAL', t.error?.message ?? `task ${t.status}`);
  };

  return {
    ready: isRunning,
    models,
    async infer(name, version, request: KserveInferRequest, signal, caller) {
      requireModel(name, version);
      const input = { ...request, model_name: name, ...(version !== undefined && { model_version: version }) } as unknown as JsonValue;
      return outcome(await run(input, signal, caller)) as InferOutput;
    },
    async metadata(name, version, caller) {
      requireModel(name, version);
      const input = { model_name: name, ...(version !== undefined && { model_version: version }), inputs: [], parameters: { metadata: true } };
      return outcome(await run(input as JsonValue, undefined, caller)) as KserveModelMetadata;
    },
  };
}
