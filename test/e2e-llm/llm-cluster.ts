/**
 * An llm cluster for end-to-end tests: a local OpenAI-compatible provider
 * (test/llm/fake-openai-provider.ts), a real in-process master, in-process
 * Workers whose llm handler is built from env exactly as the CLI builds it,
 * and real worker processes (`node dist/cli/taskwire.js worker`) pointed at
 * the same provider with OPENAI_BASE_URL. Everything on 127.0.0.1, port 0.
 */
import { createLogger, silentLogger, type Logger, type MqttLogStream } from '../../common/logger.js';
import type { TaskView } from '../../common/task-view.js';
import type { MasterDeps } from '../../master/master.js';
import type { MasterOptions } from '../../master/config.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { createEmbedHandler } from '../../worker/handlers/llm/create-embed-handler.js';
import { startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { ProcessGroup, type ManagedProcess } from '../helpers/processes.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider, type FakeOpenAiProviderOptions } from '../llm/fake-openai-provider.js';

export interface LlmClusterOptions {
  provider?: FakeOpenAiProviderOptions;
  master?: MasterOptions;
  masterDeps?: MasterDeps;
  /** In-process workers also serve `embed` (createEmbedHandler from the same env). */
  embed?: boolean;
  /** In-process llm workers (default 1). */
  inProcessWorkers?: number;
  /** `taskwire worker` processes (default 1; needs `npm run build`). */
  processWorkers?: number;
  /** Extra env for every worker's llm handler (e.g. OPENAI_API_KEY). */
  workerEnv?: Record<string, string>;
  /** Logger of each in-process worker (default silent). */
  workerLogger?: (workerId: string) => { logger: Logger; mqtt?: MqttLogStream };
  /** Log level of the worker processes (default info). */
  processLogLevel?: string;
  /** Runs once the master is up, before any worker starts (e.g. to subscribe to MQTT). */
  beforeWorkers?: (cluster: TestCluster) => Promise<void>;
}

export interface LlmCluster {
  provider: FakeOpenAiProvider;
  cluster: TestCluster;
  processes: ProcessGroup;
  /** The worker processes, in start order. */
  workerProcesses: ManagedProcess[];
  inProcessIds: string[];
  processIds: string[];
  httpUrl: string;
  close(): Promise<void>;
}

/** The token workers present to the embedded broker, if the master issues one. */
export function clusterTokenOf(cluster: TestCluster): string | undefined {
  return (cluster.master as unknown as { clusterToken?: string }).clusterToken;
}

/** The env a worker's llm handler gets: the fake provider, no Ollama probe. */
function llmEnv(provider: FakeOpenAiProvider, extra: Record<string, string> = {}): Record<string, string> {
  return { OPENAI_BASE_URL: provider.url, TASKWIRE_OLLAMA_URL: 'off', ...extra };
}

export async function startLlmCluster(options: LlmClusterOptions = {}): Promise<LlmCluster> {
  const provider = await startFakeOpenAiProvider(options.provider ?? {});
  const processes = new ProcessGroup();
  let cluster: TestCluster | undefined;
  const close = async () => {
    await processes.stopAll();
    await cluster?.close();
    await provider.close();
  };
  try {
    const c = await startCluster({ workers: 0, master: options.master ?? {}, ...(options.masterDeps ? { masterDeps: options.masterDeps } : {}) });
    cluster = c;
    await options.beforeWorkers?.(c);
    const env = llmEnv(provider, options.workerEnv);
    const inProcessIds: string[] = [];
    for (let i = 0; i < (options.inProcessWorkers ?? 1); i++) {
      const workerId = uniqueId('llm-inproc');
      const logger = options.workerLogger?.(workerId) ?? { logger: silentLogger() };
      const llm = await createLlmHandler(env, logger.logger);
      if (!llm) throw new Error('the llm handler found no model at the fake provider');
      const embed = options.embed ? await createEmbedHandler(env, logger.logger) : undefined;
      if (options.embed && !embed) throw new Error('the embed handler found no embedding model at the fake provider');
      await c.addWorker({ workerId, kinds: embed ? ['llm', 'embed'] : ['llm'] }, { handlers: embed ? [llm, embed] : [llm], logger });
      inProcessIds.push(workerId);
    }
    const processIds: string[] = [];
    const workerProcesses: ManagedProcess[] = [];
    for (let i = 0; i < (options.processWorkers ?? 1); i++) {
      const workerId = uniqueId('llm-proc');
      workerProcesses.push(
        processes.taskwire(workerId, ['worker'], {
          env: {
            ...env,
            TASKWIRE_MQTT_URL: c.mqttUrl,
            TASKWIRE_GRPC_URL: `127.0.0.1:${c.grpcPort}`,
            // The embedded broker's worker password (when the master has one).
            TASKWIRE_CLUSTER_TOKEN: clusterTokenOf(c),
            TASKWIRE_WORKER_ID: workerId,
            TASKWIRE_WORKER_KINDS: 'llm',
            TASKWIRE_HEALTH_FILE: `/tmp/${uniqueId('health')}`,
            TASKWIRE_LOG_LEVEL: options.processLogLevel ?? 'info',
          },
        }),
      );
      processIds.push(workerId);
    }
    const all = [...inProcessIds, ...processIds];
    await waitFor(
      () => all.every((id) => c.master.registry.schedulable().some((w) => w.id === id && w.kinds.has('llm'))),
      `llm workers ${all.join(', ')} online`,
      30_000,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${processes.dump()}`);
    });
    return { provider, cluster: c, processes, workerProcesses, inProcessIds, processIds, httpUrl: c.httpUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** GET /api/v1/tasks/:id, with the cluster API key when auth is on. */
export async function getTask(httpUrl: string, id: string, apiKey?: string): Promise<TaskView> {
  const res = await fetch(`${httpUrl}/api/v1/tasks/${encodeURIComponent(id)}`, {
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
  });
  if (res.status !== 200) throw new Error(`GET task ${id}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as TaskView;
}

/** Polls the task until it is final. */
export async function waitForFinal(httpUrl: string, id: string, apiKey?: string, timeoutMs = 20_000): Promise<TaskView> {
  return waitFor(
    async () => {
      const t = await getTask(httpUrl, id, apiKey);
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status) ? t : undefined;
    },
    `task ${id} to finish`,
    timeoutMs,
    20,
  );
}

/** The task id inside a gateway completion id (`chatcmpl-<task id>`). */
export function taskIdOf(completionId: string): string {
  if (!completionId.startsWith('chatcmpl-')) throw new Error(`not a gateway completion id: ${completionId}`);
  return completionId.slice('chatcmpl-'.length);
}

/** The last user message of a conversation. */
export function lastUser(messages: { role: string; content: string }[]): string {
  return [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

/** A pino logger whose JSON lines are kept in `lines` (and forwarded to MQTT like a real one). */
export function capturingLogger(source: string): { logger: Logger; mqtt: MqttLogStream; lines: string[] } {
  const lines: string[] = [];
  const destination = {
    write(chunk: string): boolean {
      lines.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const { logger, mqtt } = createLogger({ source, level: 'trace', mqttLevel: 'trace', destination });
  return { logger, mqtt, lines };
}
