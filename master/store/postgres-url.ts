import { ConfigError } from '../../common/errors.js';

/** What selects the PostgreSQL store: a postgres:// or postgresql:// URL (TASKWIRE_STORE, --store). */
export function isPostgresUrl(s: string | undefined): s is string {
  return s !== undefined && /^postgres(ql)?:\/\//i.test(s);
}

/**
 * The store URL with a password set apart from it (TASKWIRE_STORE_PASSWORD[_FILE]:
 * e.g. the Swarm secret PostgreSQL's POSTGRES_PASSWORD_FILE reads), URL-encoded
 * into the user part. A password in the URL itself is replaced. Not a postgres
 * URL, or no password: the URL as given.
 */
export function storeUrlWithPassword(url: string | undefined, password: string | undefined): string | undefined {
  if (!isPostgresUrl(url) || password === undefined || password === '') return url;
  const m = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?(.*)$/i.exec(url)!;
  const user = (m[2] ?? '').slice(0, -1).split(':')[0]!;
  if (user === '') throw new ConfigError('TASKWIRE_STORE', 'needs a user (postgres://user@host/db) when TASKWIRE_STORE_PASSWORD[_FILE] is set');
  return `${m[1]}${user}:${encodeURIComponent(password)}@${m[3]}`;
}
