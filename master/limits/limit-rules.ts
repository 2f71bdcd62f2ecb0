/**
 * The limits an admin sets (PUT /api/v1/admin/limits, or TASKWIRE_RATE_LIMITS
 * at start-up): a list of rules, each for API keys or tenants, optionally for
 * one model. One schema for both (zod), so a bad value is refused naming the field.
 *
 *   { "rules": [
 *       { "scope": "key", "requests_per_minute": 60, "tokens_per_minute": 100000 },
 *       { "scope": "key", "id": "key-3f2a9c01d4e5", "requests_per_minute": 600 },
 *       { "scope": "tenant", "id": "acme", "model": "gpt-4o", "tokens_per_day": 2000000 },
 *       { "scope": "tenant", "concurrent_tasks": 50 } ] }
 *
 * A rule without `id` applies to each key (or tenant) on its own; a rule that
 * names the caller's id replaces the id-less rules of the same scope and
 * model slot (a per-key exception to the default). A rule with `model`
 * applies only to tasks for that model, in addition to the model-less rules.
 */
import { z } from 'zod';
import { ConfigError } from '../../common/errors.js';

const limit = z.number().int().min(1).max(1e12);

export const LIMIT_FIELDS = [
  'requests_per_minute',
  'tokens_per_minute',
  'concurrent_tasks',
  'requests_per_day',
  'requests_per_month',
  'tokens_per_day',
  'tokens_per_month',
] as const;
export type LimitField = (typeof LIMIT_FIELDS)[number];

export const limitRule = z
  .object({
    scope: z.enum(['key', 'tenant']),
    /** The key id (the principal id, `key-<12 hex>`) or the tenant; omitted: each one. */
    id: z.string().min(1).max(200).optional(),
    /** Only tasks for this model (llm, infer); omitted: every task. */
    model: z.string().min(1).max(200).optional(),
    requests_per_minute: limit.optional(),
    tokens_per_minute: limit.optional(),
    concurrent_tasks: limit.optional(),
    requests_per_day: limit.optional(),
    requests_per_month: limit.optional(),
    tokens_per_day: limit.optional(),
    tokens_per_month: limit.optional(),
    /** The length of the "minute" of the per-minute limits in seconds (default 60; shorter for tests and bursts). */
    window_s: z.number().int().min(1).max(3600).optional(),
  })
  .strict()
  .refine((r) => LIMIT_FIELDS.some((f) => r[f] !== undefined), { message: `a rule sets at least one of ${LIMIT_FIELDS.join(', ')}` });
export type LimitRule = z.infer<typeof limitRule>;

export const limitsConfig = z
  .object({
    rules: z.array(limitRule).max(1000),
    /** Tokens reserved for the answer of an llm task without `max_tokens` (default 1024). */
    default_max_tokens: z.number().int().min(0).max(1_000_000).optional(),
  })
  .strict();
export type LimitsConfig = z.infer<typeof limitsConfig>;

export const NO_LIMITS: LimitsConfig = { rules: [] };
export const DEFAULT_MAX_TOKENS = 1024;

/** TASKWIRE_RATE_LIMITS: the config as JSON (or a bare array of rules); empty: no limits. */
export function parseLimitsSetting(raw: string | undefined, variable = 'TASKWIRE_RATE_LIMITS'): LimitsConfig {
  if (raw === undefined || raw.trim() === '') return NO_LIMITS;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(variable, `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = limitsConfig.safeParse(Array.isArray(json) ? { rules: json } : json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(variable, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
