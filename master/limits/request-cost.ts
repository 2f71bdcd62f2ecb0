/**
 * What a submit costs before it runs: its model (for per-model rules) and,
 * for an `llm` task, the tokens to reserve: the prompt's estimated tokens
 * (characters / 4, the usual rule of thumb) plus `max_tokens` (or the
 * configured default). The reservation is corrected to the real usage when the
 * task finishes (admission-limiter.ts).
 */
import type { JsonValue } from '../../common/json-value.js';
import { kindSpec } from '../../common/task-kinds.js';

export const CHARS_PER_TOKEN = 4;

function record(v: JsonValue | undefined): Record<string, JsonValue> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** The model a task asks for (llm `model`, infer `model_name`, ...), or undefined. Never throws. */
export function modelOf(kind: string, input: JsonValue): string | undefined {
  try {
    return kindSpec(kind)?.model?.(input);
  } catch {
    return undefined;
  }
}

/** Tokens to reserve for a task (0 unless it is an llm task). */
export function estimateTokens(kind: string, input: JsonValue, defaultMaxTokens: number): number {
  if (kind !== 'llm') return 0;
  const body = record(input);
  if (!body) return 0;
  let chars = 0;
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const m of messages) {
      const content = record(m)?.['content'];
      chars += typeof content === 'string' ? content.length : JSON.stringify(content ?? '').length;
    }
  }
  const maxTokens = body['max_tokens'];
  const answer = typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : defaultMaxTokens;
  return Math.ceil(chars / CHARS_PER_TOKEN) + answer;
}
