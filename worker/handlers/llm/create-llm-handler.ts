/**
 * Builds the `llm` handler from the environment: Gemini when a key (or a
 * model list) is set, an OpenAI-compatible server when OPENAI_BASE_URL or
 * OPENAI_API_KEY is set (models from OPENAI_MODELS or GET /models), and an
 * Ollama if one answers at TASKWIRE_OLLAMA_URL (the default local URL is only
 * probed when nothing else is configured).
 * Returns undefined when no provider is available, so the worker does not
 * claim `llm`. Throws ConfigError on a bad variable.
 */
import type { Clock } from '../../../common/clock.js';
import { errorMessage } from '../../../common/errors.js';
import type { Env } from '../../../common/env.js';
import type { Logger } from '../../../common/logger.js';
import { GeminiProvider } from './gemini-provider.js';
import { resolveLlmConfig, resolveProviderTimeouts } from './llm-config.js';
import { LlmHandler } from './llm-handler.js';
import type { LlmProvider } from './llm-provider.js';
import { probeOllama } from './ollama-discovery.js';
import { discoverOpenAiModels, OpenAiProvider } from './openai-provider.js';
import type { FetchFn } from './provider-fetch.js';
import { timedFetch } from './timed-fetch.js';

export interface LlmHandlerDeps {
  /** Defaults to Node's global fetch (tests may wrap it). */
  fetch?: FetchFn;
  clock?: Clock;
}

export async function createLlmHandler(env: Env, logger: Logger, deps: LlmHandlerDeps = {}): Promise<LlmHandler | undefined> {
  const config = await resolveLlmConfig(env);
  const providers: LlmProvider[] = [];
  const keyless = new Set<LlmProvider>();
  const fetchOpt = deps.fetch ? { fetch: deps.fetch } : {};
  // Answering calls get first-byte and idle timeouts; discovery and probes have their own.
  const timeouts = resolveProviderTimeouts(env);
  const timed = (provider: string) => ({ fetch: timedFetch(provider, deps.fetch ?? ((input, init) => fetch(input, init)), timeouts) });

  if (config.gemini) {
    const gemini = new GeminiProvider({
      apiKey: config.gemini.apiKey ?? '',
      baseUrl: config.gemini.baseUrl,
      models: config.gemini.models,
      ...timed('gemini'),
    });
    providers.push(gemini);
    if (config.gemini.apiKey === undefined) keyless.add(gemini);
  }

  if (config.openai) {
    let models = config.openai.models;
    if (models === undefined) {
      try {
        models = await discoverOpenAiModels(
          { name: 'openai', baseUrl: config.openai.baseUrl, apiKey: config.openai.apiKey, ...fetchOpt },
          AbortSignal.timeout(config.discoveryTimeoutMs),
        );
      } catch (err) {
        logger.warn(
          { base_url: config.openai.baseUrl, reason: errorMessage(err) },
          'OpenAI-compatible server did not list its models; set OPENAI_MODELS',
        );
        models = [];
      }
    }
    if (models.length > 0) {
      providers.push(
        new OpenAiProvider({ name: 'openai', baseUrl: config.openai.baseUrl, apiKey: config.openai.apiKey, models, ...timed('openai') }),
      );
    }
  }

  const probe = config.ollamaUrl !== undefined && (config.ollamaExplicit || (!config.gemini && !config.openai));
  if (probe && config.ollamaUrl !== undefined) {
    const found = await probeOllama(config.ollamaUrl, { timeoutMs: config.ollamaProbeMs, ...fetchOpt });
    if (found && found.models.length > 0) {
      providers.push(new OpenAiProvider({ name: 'ollama', baseUrl: found.baseUrl, models: found.models, ...timed('ollama') }));
    } else if (config.ollamaExplicit) {
      logger.warn({ url: config.ollamaUrl }, 'TASKWIRE_OLLAMA_URL: no Ollama with models answered');
    } else {
      logger.debug({ url: config.ollamaUrl }, 'no local Ollama with models answered');
    }
  }

  if (providers.length === 0) {
    logger.info('no LLM provider configured or found; not serving llm tasks');
    return undefined;
  }
  const handler = new LlmHandler({
    providers,
    keyless,
    cooldownMs: config.cooldownMs,
    failureThreshold: config.failureThreshold,
    logger,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  logger.info({ providers: handler.describe() }, 'serving llm tasks');
  return handler;
}
