/**
 * LLM worker configuration from the environment, validated once at start-up
 * (a wrong value throws ConfigError naming the variable).
 *
 *   GEMINI_API_KEY | GEMINI_API_KEY_FILE   enables Gemini (a key file holding only whitespace
 *                                          counts as unset, as deploy/gen-secrets.sh writes it)
 *   GEMINI_BASE_URL                        default https://generativelanguage.googleapis.com
 *   GEMINI_MODELS                          comma list, default gemini-2.5-flash (set without a
 *                                          key: Gemini is served to users who bring their own key)
 *   OPENAI_BASE_URL                        enables an OpenAI-compatible server (default base
 *                                          https://api.openai.com/v1 when only the key is set)
 *   OPENAI_API_KEY | OPENAI_API_KEY_FILE   optional for local servers
 *   OPENAI_MODELS                          comma list; else discovered from GET {base}/models
 *   TASKWIRE_OLLAMA_URL                    an Ollama to serve (probed at start, also next to other
 *                                          providers); unset: http://127.0.0.1:11434 is probed only
 *                                          when nothing else is configured; "off" disables
 *   TASKWIRE_OLLAMA_PROBE_MS               default 500
 *   TASKWIRE_LLM_DISCOVERY_MS              timeout of GET /models at start, default 5000
 *   TASKWIRE_LLM_COOLDOWN_MS               default 60000
 *   TASKWIRE_LLM_FIRST_BYTE_TIMEOUT_MS     provider response headers within, default 60000
 *   TASKWIRE_LLM_IDLE_TIMEOUT_MS           longest silence in a provider's body, default 120000
 *   TASKWIRE_LLM_FAILURE_THRESHOLD         retryable failures in a row before a cool-down, default 3
 */
import { ConfigError } from '../../../common/errors.js';
import { envInt, envSecret, envString, type Env } from '../../../common/env.js';
import { MODEL_NAME_PATTERN, MAX_LLM_MODEL_CHARS } from '../../../common/kinds/llm.js';
import { GEMINI_DEFAULT_BASE_URL } from './gemini-provider.js';
import { OPENAI_DEFAULT_BASE_URL } from './openai-provider.js';

export const LLM_DEFAULTS = {
  geminiBaseUrl: GEMINI_DEFAULT_BASE_URL,
  geminiModels: ['gemini-2.5-flash'] as readonly string[],
  openaiBaseUrl: OPENAI_DEFAULT_BASE_URL,
  ollamaUrl: 'http://127.0.0.1:11434',
  ollamaProbeMs: 500,
  discoveryTimeoutMs: 5_000,
  cooldownMs: 60_000,
  failureThreshold: 3,
  firstByteTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
} as const;

export interface GeminiConfig {
  apiKey: string | undefined;
  baseUrl: string;
  models: string[];
}

export interface OpenAiConfig {
  baseUrl: string;
  apiKey: string | undefined;
  /** Undefined: discover from GET {base}/models. */
  models: string[] | undefined;
}

export interface LlmConfig {
  gemini: GeminiConfig | undefined;
  openai: OpenAiConfig | undefined;
  /** Undefined when disabled ("off"). */
  ollamaUrl: string | undefined;
  /** TASKWIRE_OLLAMA_URL was set: probe it even when other providers are configured. */
  ollamaExplicit: boolean;
  ollamaProbeMs: number;
  discoveryTimeoutMs: number;
  cooldownMs: number;
  failureThreshold: number;
}

export function parseHttpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `expected an http:// or https:// URL, got ${url.protocol}`);
  }
  if (url.username || url.password) throw new ConfigError(name, 'put credentials in the API key variable, not in the URL');
  return raw.replace(/\/+$/, '');
}

export function parseModelList(name: string, raw: string): string[] {
  const models = raw
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  if (models.length === 0) throw new ConfigError(name, 'lists no model');
  for (const m of models) {
    if (m.length > MAX_LLM_MODEL_CHARS || !MODEL_NAME_PATTERN.test(m)) {
      throw new ConfigError(name, `not a model name: "${m}"`);
    }
  }
  return [...new Set(models)];
}

/** A key file holding only whitespace means "not configured" (Swarm refuses empty secrets). */
async function providerKey(env: Env, name: string): Promise<string | undefined> {
  const key = await envSecret(env, name);
  return key === undefined || key === '' ? undefined : key;
}

export async function resolveLlmConfig(env: Env): Promise<LlmConfig> {
  const geminiKey = await providerKey(env, 'GEMINI_API_KEY');
  const geminiModelsRaw = envString(env, 'GEMINI_MODELS');
  const geminiBase = parseHttpUrl('GEMINI_BASE_URL', envString(env, 'GEMINI_BASE_URL') ?? LLM_DEFAULTS.geminiBaseUrl);
  const gemini: GeminiConfig | undefined =
    geminiKey !== undefined || geminiModelsRaw !== undefined
      ? {
          apiKey: geminiKey,
          baseUrl: geminiBase,
          models: geminiModelsRaw ? parseModelList('GEMINI_MODELS', geminiModelsRaw) : [...LLM_DEFAULTS.geminiModels],
        }
      : undefined;

  const openaiKey = await providerKey(env, 'OPENAI_API_KEY');
  const openaiBaseRaw = envString(env, 'OPENAI_BASE_URL');
  const openaiModelsRaw = envString(env, 'OPENAI_MODELS');
  const openai: OpenAiConfig | undefined =
    openaiKey !== undefined || openaiBaseRaw !== undefined
      ? {
          baseUrl: parseHttpUrl('OPENAI_BASE_URL', openaiBaseRaw ?? LLM_DEFAULTS.openaiBaseUrl),
          apiKey: openaiKey,
          models: openaiModelsRaw ? parseModelList('OPENAI_MODELS', openaiModelsRaw) : undefined,
        }
      : undefined;
  if (openai === undefined && openaiModelsRaw !== undefined) {
    throw new ConfigError('OPENAI_MODELS', 'set OPENAI_BASE_URL or OPENAI_API_KEY too');
  }

  const ollamaSet = envString(env, 'TASKWIRE_OLLAMA_URL');
  const ollamaRaw = ollamaSet ?? LLM_DEFAULTS.ollamaUrl;
  const ollamaUrl = /^(off|none|false|0)$/i.test(ollamaRaw) ? undefined : parseHttpUrl('TASKWIRE_OLLAMA_URL', ollamaRaw);

  return {
    gemini,
    openai,
    ollamaUrl,
    ollamaExplicit: ollamaSet !== undefined && ollamaUrl !== undefined,
    ollamaProbeMs: envInt(env, 'TASKWIRE_OLLAMA_PROBE_MS', { min: 1, max: 60_000 }) ?? LLM_DEFAULTS.ollamaProbeMs,
    discoveryTimeoutMs: envInt(env, 'TASKWIRE_LLM_DISCOVERY_MS', { min: 1, max: 600_000 }) ?? LLM_DEFAULTS.discoveryTimeoutMs,
    cooldownMs: envInt(env, 'TASKWIRE_LLM_COOLDOWN_MS', { min: 0, max: 24 * 60 * 60 * 1000 }) ?? LLM_DEFAULTS.cooldownMs,
    failureThreshold: envInt(env, 'TASKWIRE_LLM_FAILURE_THRESHOLD', { min: 1, max: 1000 }) ?? LLM_DEFAULTS.failureThreshold,
  };
}

/** Timeouts of every provider call (TASKWIRE_LLM_FIRST_BYTE_TIMEOUT_MS, TASKWIRE_LLM_IDLE_TIMEOUT_MS). */
export function resolveProviderTimeouts(env: Env): { firstByteMs: number; idleMs: number } {
  return {
    firstByteMs: envInt(env, 'TASKWIRE_LLM_FIRST_BYTE_TIMEOUT_MS', { min: 1, max: 3_600_000 }) ?? LLM_DEFAULTS.firstByteTimeoutMs,
    idleMs: envInt(env, 'TASKWIRE_LLM_IDLE_TIMEOUT_MS', { min: 1, max: 3_600_000 }) ?? LLM_DEFAULTS.idleTimeoutMs,
  };
}
