/**
 * Finding a local Ollama when no provider is configured: GET {url}/api/tags
 * with a short timeout. When it answers, its models are served through its
 * OpenAI-compatible API at {url}/v1. A name tagged ":latest" is advertised
 * with and without the tag, since Ollama accepts both.
 */
import { z } from 'zod';
import type { FetchFn } from './provider-fetch.js';

const tags = z
  .object({
    models: z.array(z.object({ name: z.string().min(1).optional(), model: z.string().min(1).optional() }).passthrough()).nullish(),
  })
  .passthrough();

export interface OllamaProbeOptions {
  timeoutMs: number;
  fetch?: FetchFn;
}

export interface OllamaFound {
  /** The OpenAI-compatible base, {url}/v1. */
  baseUrl: string;
  models: string[];
}

export function ollamaModelNames(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const n of names) {
    out.add(n);
    if (n.endsWith(':latest')) out.add(n.slice(0, -':latest'.length));
  }
  return [...out];
}

/** Returns what the Ollama at `url` serves, or undefined when nothing usable answers in time. */
export async function probeOllama(url: string, options: OllamaProbeOptions): Promise<OllamaFound | undefined> {
  const base = url.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? fetch;
  try {
    const res = await fetchFn(`${base}/api/tags`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    const parsed = tags.safeParse(await res.json());
    if (!parsed.success) return undefined;
    const names = (parsed.data.models ?? []).flatMap((m) => {
      const name = m.name ?? m.model;
      return name ? [name] : [];
    });
    return { baseUrl: `${base}/v1`, models: ollamaModelNames(names) };
  } catch {
    return undefined;
  }
}
