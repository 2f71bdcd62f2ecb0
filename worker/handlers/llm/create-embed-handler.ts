/**
 * Builds the `embed` handler from the same environment as the llm handler
 * (create-llm-handler.ts), with the embedding models of each provider:
 *   GEMINI_EMBEDDING_MODELS  comma list, default gemini-embedding-001 (when Gemini is configured)
 *   OPENAI_EMBEDDING_MODELS  comma list; default: the server's models (OPENAI_MODELS or
 *                            GET /models) whose id contains "embed"
 *   Ollama                   its models whose name contains "embed" (through its /v1)
 * Returns undefined when no provider has an embedding model, so the worker
 * does not claim `embed`. Throws ConfigError on a bad variable.
 */
import { errorMessage } from '../../../common/errors.js';
import { envString, type Env } from '../../../common/env.js';
import type { Logger } from '../../../common/logger.js';
import type { LlmHandlerDeps } from './create-llm-handler.js';
import { EmbedHandler } from './embed-handler.js';
import { GeminiEmbeddings, OpenAiEmbeddings, type EmbeddingProvider } from './embedding-providers.js';
import { parseModelList, resolveLlmConfig, resolveProviderTimeouts } from './llm-config.js';
import { probeOllama } from './ollama-discovery.js';
import { discoverOpenAiModels } from './openai-provider.js';
import { timedFetch } from './timed-fetch.js';

export const EMBED_DEFAULTS = { geminiModels: ['gemini-embedding-001'] as readonly string[] } as const;

const embeddingModelsOf = (models: readonly string[]): string[] => models.filter((m) => /embed/i.test(m));

export async function createEmbedHandler(env: Env, logger: Logger, deps: LlmHandlerDeps = {}): Promise<EmbedHandler | undefined> {
  const config = await resolveLlmConfig(env);
  const timeouts = resolveProviderTimeouts(env);
  const timed = (provider: string) => ({ fetch: timedFetch(provider, deps.fetch ?? ((input, init) => fetch(input, init)), timeouts) });
  const providers: EmbeddingProvider[] = [];
  const keyless = new Set<EmbeddingProvider>();

  if (config.gemini) {
    const raw = envString(env, 'GEMINI_EMBEDDING_MODELS');
    const models = raw ? parseModelList('GEMINI_EMBEDDING_MODELS', raw) : [...EMBED_DEFAULTS.geminiModels];
    const gemini = new GeminiEmbeddings({ baseUrl: config.gemini.baseUrl, apiKey: config.gemini.apiKey, models, ...timed('gemini') });
    providers.push(gemini);
    if (config.gemini.apiKey === undefined) keyless.add(gemini);
  }

  if (config.openai) {
    const raw = envString(env, 'OPENAI_EMBEDDING_MODELS');
    let models = raw ? parseModelList('OPENAI_EMBEDDING_MODELS', raw) : undefined;
    if (models === undefined) {
      let all = config.openai.models;
      if (all === undefined) {
        try {
          all = await discoverOpenAiModels(
            { name: 'openai', baseUrl: config.openai.baseUrl, apiKey: config.openai.apiKey, ...(deps.fetch && { fetch: deps.fetch }) },
            AbortSignal.timeout(config.discoveryTimeoutMs),
          );
        } catch (err) {
          logger.debug({ reason: errorMessage(err) }, 'no embedding models discovered; set OPENAI_EMBEDDING_MODELS');
          all = [];
        }
      }
      models = embeddingModelsOf(all);
    }
    if (models.length > 0) providers.push(new OpenAiEmbeddings('openai', { baseUrl: config.openai.baseUrl, apiKey: config.openai.apiKey, models, ...timed('openai') }));
  }

  const probe = config.ollamaUrl !== undefined && (config.ollamaExplicit || (!config.gemini && !config.openai));
  if (probe && config.ollamaUrl !== undefined) {
    const found = await probeOllama(config.ollamaUrl, { timeoutMs: config.ollamaProbeMs, ...(deps.fetch && { fetch: deps.fetch }) });
    const models = embeddingModelsOf(found?.models ?? []);
    if (found && models.length > 0) providers.push(new OpenAiEmbeddings('ollama', { baseUrl: found.baseUrl, models, ...timed('ollama') }));
  }

  if (providers.length === 0) return undefined;
  const handler = new EmbedHandler(providers, keyless);
  logger.info({ providers: handler.describe() }, 'serving embed tasks');
  return handler;
}
