/**
 * The response fields of a refused (429) submit: `Retry-After`, the common
 * `X-RateLimit-Limit` / `-Remaining` / `-Reset` (Reset: Unix time in seconds,
 * as GitHub and most APIs send it) and the IETF draft's structured fields
 * (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "key-rpm";q=60;w=60`
 * and `RateLimit: "key-rpm";r=0;t=17` (t: seconds until the quota resets).
 */
export interface LimitState {
  policy: string;
  limit: number;
  remaining: number;
  /** Window in seconds (0: concurrency, no window). */
  windowS: number;
  /** Ms until the refused meter frees up (reset of its window, or a guess for concurrency). */
  resetMs: number;
}

export function retryAfterSeconds(resetMs: number): number {
  return Math.max(1, Math.ceil(resetMs / 1000));
}

export function rateLimitHeaders(s: LimitState, nowMs: number): Record<string, string> {
  const t = retryAfterSeconds(s.resetMs);
  const remaining = Math.max(0, Math.floor(s.remaining));
  return {
    'Retry-After': String(t),
    'X-RateLimit-Limit': String(s.limit),
    'X-RateLimit-Remaining': String(remaining),
    'X-RateLimit-Reset': String(Math.ceil((nowMs + s.resetMs) / 1000)),
    'RateLimit-Policy': `"${s.policy}";q=${s.limit}${s.windowS > 0 ? `;w=${s.windowS}` : ''}`,
    RateLimit: `"${s.policy}";r=${remaining};t=${t}`,
  };
}
