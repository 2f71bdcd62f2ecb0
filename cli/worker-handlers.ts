/**
 * Optional handlers a worker process adds from its environment: `llm` when a
 * provider is configured or a local Ollama answers. A handler that cannot
 * serve is left out, so the worker does not claim its kind.
 */
import type { Env } from '../common/env.js';
import type { Logger } from '../common/logger.js';
import { ConfigError, errorMessage } from '../common/errors.js';
import type { TaskHandler } from '../worker/handlers/task-handler.js';
import { createLlmHandler } from '../worker/handlers/llm/create-llm-handler.js';

export async function handlersFromEnv(env: Env, log: Logger, kinds: string[] | undefined): Promise<TaskHandler[]> {
  const out: TaskHandler[] = [];
  const wants = (kind: string) => !kinds || kinds.includes(kind);
  if (wants('llm')) {
    try {
      const llm = await createLlmHandler(env, log);
      if (llm) out.push(llm);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      log.warn({ err: errorMessage(err) }, 'llm handler not available');
    }
  }
  return out;
}
