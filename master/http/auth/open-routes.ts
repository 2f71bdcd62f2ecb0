/**
 * The one list of HTTP routes that answer without an API key when keys are
 * configured (`TASKWIRE_OPEN_ROUTES`, comma-separated exact paths). Default:
 * liveness and readiness for probes. Add `/metrics` to let Prometheus scrape
 * without a key. The web UI's static files (HTML, JS, CSS: no data) are always
 * served so the chat can ask for a key; everything under /api, /v1, /v2,
 * /metrics and /socket.io needs one.
 */
export const DEFAULT_OPEN_ROUTES: readonly string[] = ['/healthz', '/v2/health/live', '/v2/health/ready'];

/** Path prefixes that carry data or act; everything else is the static web UI. */
export const PROTECTED_PREFIXES: readonly string[] = ['/api/', '/v1/', '/v2', '/metrics', '/socket.io'];

export function isProtectedPath(path: string, open: ReadonlySet<string>): boolean {
  if (open.has(path)) return false;
  return PROTECTED_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p));
}
