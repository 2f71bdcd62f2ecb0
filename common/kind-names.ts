/**
 * Task kind names and submit bounds, declared once and used everywhere
 * (master, workers, the web UI). Free of zod so the browser bundle can import it.
 *
 * A kind name is 1–64 characters: a lowercase letter first, then lowercase
 * letters, digits, `.`, `_` or `-`. It is always looked up with Object.hasOwn,
 * so names such as `constructor` or `__proto__` are just unknown kinds.
 */
export const KIND_NAME_PATTERN = /^[a-z][a-z0-9._-]{0,63}$/;
export const KIND_NAME_RULE = 'a kind name is 1-64 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"';

export function isKindName(name: unknown): name is string {
  return typeof name === 'string' && KIND_NAME_PATTERN.test(name);
}

/** Diagnostic kinds every master accepts and every worker runs. */
export const DIAGNOSTIC_KIND_NAMES: readonly string[] = Object.freeze(['echo', 'sleep']);

/** Task priority: 0 (lowest) .. 9 (highest). */
export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 9;
