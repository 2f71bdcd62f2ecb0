/**
 * Last line of defence against secrets in kept log lines. The first is the
 * logger itself: a line forwarded on MQTT carries only its message and task
 * id, never the structured fields (where an error object or a request could
 * hold a key). Here the message text is scrubbed of what looks like a
 * credential: bearer tokens, `key=value` pairs named like secrets, URLs with
 * a password, and provider API keys (`sk-…`, `AIza…`, `ghp_…`).
 */
const PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  [/\b((?:api[_-]?key|apikey|token|secret|password|passwd|pwd|authorization|x-api-key)["']?\s*[:=]\s*["']?)[^\s"',;&]{4,}/gi, '$1[redacted]'],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1[redacted]@'],
  [/\b(sk-[A-Za-z0-9_-]{8})[A-Za-z0-9_-]{8,}/g, '$1[redacted]'],
  [/\bAIza[0-9A-Za-z_-]{30,}/g, 'AIza[redacted]'],
  [/\b(gh[pousr]_)[A-Za-z0-9]{20,}/g, '$1[redacted]'],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, by] of PATTERNS) out = out.replace(re, by);
  return out;
}
