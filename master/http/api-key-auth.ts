/** `Authorization: Bearer <key>` check against the cluster's API keys (constant time). */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function apiKeyValid(keys: ReadonlySet<string>, given: string | undefined): boolean {
  if (!given) return false;
  const g = digest(given);
  let ok = false;
  for (const k of keys) ok = timingSafeEqual(digest(k), g) || ok;
  return ok;
}

export function requireApiKey(keys: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (apiKeyValid(keys, m?.[1]?.trim())) return next();
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: { code: 'UNAUTHENTICATED', message: 'missing or invalid API key (Authorization: Bearer <key>)' } });
  };
}
