/** resolveLlmConfig: defaults, providers enabled by env, named errors. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { LLM_DEFAULTS, resolveLlmConfig } from '../../worker/handlers/llm/llm-config.js';

async function configError(env: Record<string, string>): Promise<ConfigError> {
  try {
    await resolveLlmConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveLlmConfig', () => {
  it('nothing configured: no providers, Ollama probed at the default URL', async () => {
    const c = await resolveLlmConfig({});
    expect(c).toEqual({
      gemini: undefined,
      openai: undefined,
      ollamaUrl: LLM_DEFAULTS.ollamaUrl,
      ollamaExplicit: false,
      ollamaProbeMs: LLM_DEFAULTS.ollamaProbeMs,
      discoveryTimeoutMs: LLM_DEFAULTS.discoveryTimeoutMs,
      cooldownMs: LLM_DEFAULTS.cooldownMs,
      failureThreshold: LLM_DEFAULTS.failureThreshold,
    });
  });

  it('GEMINI_API_KEY enables Gemini with the default base and model', async () => {
    const c = await resolveLlmConfig({ GEMINI_API_KEY: ' k ' });
    expect(c.gemini).toEqual({ apiKey: 'k', baseUrl: LLM_DEFAULTS.geminiBaseUrl, models: ['gemini-2.5-flash'] });
  });

  it('keys can come from *_FILE (Swarm secrets)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-config-'));
    try {
      writeFileSync(join(dir, 'g'), 'from-file\n');
      writeFileSync(join(dir, 'o'), 'sk-file\n');
      const c = await resolveLlmConfig({ GEMINI_API_KEY_FILE: join(dir, 'g'), OPENAI_API_KEY_FILE: join(dir, 'o') });
      expect(c.gemini?.apiKey).toBe('from-file');
      expect(c.openai).toEqual({ baseUrl: LLM_DEFAULTS.openaiBaseUrl, apiKey: 'sk-file', models: undefined });
      writeFileSync(join(dir, 'blank'), '\n');
      const blank = await resolveLlmConfig({ GEMINI_API_KEY_FILE: join(dir, 'blank'), OPENAI_API_KEY_FILE: join(dir, 'blank') });
      expect(blank.gemini).toBeUndefined();
      expect(blank.openai).toBeUndefined();
      const e = await configError({ GEMINI_API_KEY_FILE: join(dir, 'missing') });
      expect(e.variable).toBe('GEMINI_API_KEY_FILE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('OPENAI_BASE_URL alone enables a keyless OpenAI-compatible server; OPENAI_MODELS is parsed', async () => {
    const c = await resolveLlmConfig({
      OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1/',
      OPENAI_MODELS: 'llama-3.1-8b, qwen2.5:0.5b,,llama-3.1-8b',
      TASKWIRE_OLLAMA_URL: 'off',
      TASKWIRE_LLM_COOLDOWN_MS: '250',
      TASKWIRE_LLM_FAILURE_THRESHOLD: '2',
    });
    expect(c.openai).toEqual({ baseUrl: 'http://127.0.0.1:8000/v1', apiKey: undefined, models: ['llama-3.1-8b', 'qwen2.5:0.5b'] });
    expect(c.ollamaUrl).toBeUndefined();
    expect(c.ollamaExplicit).toBe(false);
    expect((await resolveLlmConfig({ TASKWIRE_OLLAMA_URL: 'http://ollama:11434/' })).ollamaExplicit).toBe(true);
    expect(c.cooldownMs).toBe(250);
    expect(c.failureThreshold).toBe(2);
  });

  it.each([
    [{ OPENAI_BASE_URL: 'ftp://x' }, 'OPENAI_BASE_URL'],
    [{ OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    [{ OPENAI_BASE_URL: 'http://user:pw@host/v1' }, 'OPENAI_BASE_URL'],
    [{ GEMINI_API_KEY: 'k', GEMINI_BASE_URL: 'mqtt://x' }, 'GEMINI_BASE_URL'],
    [{ GEMINI_API_KEY: 'k', GEMINI_MODELS: 'bad model!' }, 'GEMINI_MODELS'],
    [{ GEMINI_API_KEY: 'k', GEMINI_MODELS: ' , ' }, 'GEMINI_MODELS'],
    [{ OPENAI_MODELS: 'gpt-4o' }, 'OPENAI_MODELS'],
    [{ TASKWIRE_OLLAMA_URL: 'localhost:11434' }, 'TASKWIRE_OLLAMA_URL'],
    [{ TASKWIRE_LLM_COOLDOWN_MS: 'soon' }, 'TASKWIRE_LLM_COOLDOWN_MS'],
    [{ TASKWIRE_LLM_FAILURE_THRESHOLD: '0' }, 'TASKWIRE_LLM_FAILURE_THRESHOLD'],
  ])('%o is rejected naming %s', async (env, variable) => {
    const e = await configError(env as Record<string, string>);
    expect(e.variable).toBe(variable);
    expect(e.message).toContain(variable);
  });
});
