/** A master whose HTTP listens beyond loopback without API keys says so loudly at start-up. */
import type { Logger } from '../../../common/logger.js';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function warnIfExposed(host: string, keysRequired: boolean, log: Logger): boolean {
  if (keysRequired || isLoopback(host)) return false;
  log.warn(
    { http_host: host },
    `WARNING: HTTP listens on ${host} WITHOUT API keys: anyone who can reach this port can submit tasks (on your provider keys), read every answer and cancel tasks. Set TASKWIRE_API_KEYS, or TASKWIRE_HTTP_HOST=127.0.0.1.`,
  );
  return true;
}
