/**
 * Cross-site WebSocket protection: a browser page from another origin must not
 * open a Socket.IO connection to the master (REST is protected by the absence
 * of CORS headers; a WebSocket is not). A handshake whose `Origin` is neither
 * the master's own (same host:port as the request's Host) nor in the allow-list
 * (`TASKWIRE_ALLOWED_ORIGINS`) is refused. Non-browser clients send no Origin
 * and pass (they are subject to the API key like everyone else).
 */
import type { IncomingMessage } from 'node:http';

export function originAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.has('*') || allowed.has(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host;
}
