/**
 * Task kinds the master knows how to validate at submit time, so a bad input
 * is rejected with a reason before it is queued. Workers validate again with
 * the same schemas. `requirement()` names what a worker must offer to run a
 * task (its kind and, for model-backed kinds, the model).
 */
import type { z } from 'zod';
import { echoInput, sleepInput } from './kinds/diagnostic.js';
import { llmKind } from './kinds/llm.js';
import { inferKind, ocrKind } from './kinds/inference.js';
import { imageKind } from './kinds/image.js';
import { ValidationError } from './errors.js';
import type { JsonValue } from './json-value.js';

export interface KindSpec {
  readonly description: string;
  readonly diagnostic: boolean;
  readonly input: z.ZodType;
  /** The model a task of this kind needs, if any. */
  readonly model?: (input: JsonValue) => string | undefined;
}

export const KIND_SPECS: Record<string, KindSpec> = {
  echo: { description: 'Diagnostic: returns the text, streamed word by word', diagnostic: true, input: echoInput },
  sleep: { description: 'Diagnostic: waits the given milliseconds', diagnostic: true, input: sleepInput },
  llm: llmKind,
  infer: inferKind,
  ocr: ocrKind,
  image: imageKind,
};

export const DIAGNOSTIC_KINDS = Object.keys(KIND_SPECS).filter((k) => KIND_SPECS[k]!.diagnostic);

export interface Requirement {
  kind: string;
  model?: string;
}

export function requirementKey(r: Requirement): string {
  return r.model ? `${r.kind}\u0000${r.model}` : r.kind;
}

/** Validates input for a known kind; returns the parsed input. Unknown kinds pass through. */
export function validateTaskInput(kind: string, input: JsonValue): { input: JsonValue; requirement: Requirement } {
  const spec = KIND_SPECS[kind];
  if (!spec) return { input, requirement: { kind } };
  const parsed = spec.input.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['input', ...(issue?.path ?? []).map(String)].join('.');
    throw new ValidationError(path, issue?.message ?? 'invalid input');
  }
  const value = parsed.data as JsonValue;
  const model = spec.model?.(value);
  return { input: value, requirement: model ? { kind, model } : { kind } };
}
