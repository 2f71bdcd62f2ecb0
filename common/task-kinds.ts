/**
 * Task kinds the master knows how to validate at submit time, so a bad input
 * is rejected with a reason before it is queued. Workers validate again with
 * the same schemas. `requirement()` names what a worker must offer to run a
 * task (its kind and, for model-backed kinds, the model).
 */
import { z } from 'zod';
import { echoInput, sleepInput } from './kinds/diagnostic.js';
import { llmKind } from './kinds/llm.js';
import { embedKind } from './kinds/embed.js';
import { inferKind, ocrKind } from './kinds/inference.js';
import { imageKind } from './kinds/image.js';
import { ValidationError } from './errors.js';
import type { JsonValue } from './json-value.js';
import { DIAGNOSTIC_KIND_NAMES, KIND_NAME_PATTERN, KIND_NAME_RULE, PRIORITY_MAX, PRIORITY_MIN } from './kind-names.js';
import { schemaValidationError } from './schema-issue.js';

export { DIAGNOSTIC_KIND_NAMES, KIND_NAME_PATTERN, KIND_NAME_RULE, PRIORITY_MAX, PRIORITY_MIN, isKindName } from './kind-names.js';

/** A kind name at every boundary (submit, gateway, worker status). */
export const kindName = z.string().regex(KIND_NAME_PATTERN, KIND_NAME_RULE);
export const taskPriority = z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX);

/** The fields every submit surface shares (REST and Socket.IO extend it with their own). */
export const submitFields = {
  kind: kindName,
  input: z.unknown(),
  priority: taskPriority.optional(),
  /** Must start within this many ms of the submit, or be refused now (deadline admission) and expire queued then. */
  deadline_ms: z.number().int().min(1).max(30 * 24 * 3600 * 1000).optional(),
  /** The same as an absolute time (ISO 8601); give one of the two. */
  deadline_at: z.string().datetime({ offset: true }).optional(),
};

export interface KindSpec {
  readonly description: string;
  readonly diagnostic: boolean;
  readonly input: z.ZodType;
  /** The model a task of this kind needs, if any. */
  readonly model?: (input: JsonValue) => string | undefined;
  /** What a worker of this kind must support to run this input (e.g. `format:avif`), sorted, deduplicated. */
  readonly features?: (input: JsonValue) => string[];
}

export const KIND_SPECS: Readonly<Record<string, KindSpec>> = {
  echo: { description: 'Diagnostic: returns the text, streamed word by word', diagnostic: true, input: echoInput },
  sleep: { description: 'Diagnostic: waits the given milliseconds', diagnostic: true, input: sleepInput },
  llm: llmKind,
  embed: embedKind,
  infer: inferKind,
  ocr: ocrKind,
  image: imageKind,
};

export const DIAGNOSTIC_KINDS = DIAGNOSTIC_KIND_NAMES;

/** The spec of a known kind (own properties only: `constructor` is not a kind). */
export function kindSpec(kind: string): KindSpec | undefined {
  return Object.hasOwn(KIND_SPECS, kind) ? KIND_SPECS[kind] : undefined;
}

export interface Requirement {
  kind: string;
  model?: string;
  /**
   * Features of the kind the task needs (`op:resize`, `format:avif`), sorted:
   * only a worker advertising all of them as `<kind>:<feature>` (or none of
   * the kind: an older worker) runs it. WorkerStatus.features, docs/PROTOCOL.md.
   */
  features?: readonly string[];
}

/** The queue key: tasks of one key wait in one heap (kind, model, features). */
export function requirementKey(r: Requirement): string {
  const base = r.model ? `${r.kind}\u0000${r.model}` : r.kind;
  return r.features && r.features.length > 0 ? `${base}\u0001${r.features.join(',')}` : base;
}

/**
 * Validates input for a known kind; returns the parsed input. Unknown kinds
 * pass through. `extra`: features the task needs that its input does not say
 * (resolved by the master from data it holds, e.g. the read feature of an
 * image's input blob: master/core/feature-source.ts), merged with the spec's.
 */
export function validateTaskInput(kind: string, input: JsonValue, extra?: readonly string[]): { input: JsonValue; requirement: Requirement } {
  if (!KIND_NAME_PATTERN.test(kind)) throw new ValidationError('kind', KIND_NAME_RULE);
  const spec = kindSpec(kind);
  if (!spec) return { input, requirement: { kind } };
  const parsed = spec.input.safeParse(input);
  if (!parsed.success) throw schemaValidationError(parsed.error, 'input');
  const value = parsed.data as JsonValue;
  const model = spec.model?.(value);
  const own = spec.features?.(value);
  const features = extra && extra.length > 0 ? [...new Set([...(own ?? []), ...extra])].sort() : own;
  const requirement: Requirement = model ? { kind, model } : { kind };
  if (features && features.length > 0) requirement.features = features;
  return { input: value, requirement };
}
