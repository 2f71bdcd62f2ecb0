/**
 * The bootstrap admin key of a cluster (tenant `default`, every scope):
 *
 * - `TASKWIRE_ADMIN_KEY` / `TASKWIRE_ADMIN_KEY_FILE` (a Swarm secret): that
 *   key, stored hashed under a fixed key id; changing the setting replaces the
 *   secret at the next start.
 * - Otherwise, on the first start of a data dir whose cluster needs keys
 *   (`TASKWIRE_API_KEYS` or stored keys) but has no admin key, a generated
 *   one, printed ONCE to stdout (never to the structured log) and then only
 *   kept hashed. The same happens when the local caller of a cluster without
 *   keys creates its first key (keys become required at once, and the local
 *   caller would otherwise be locked out): that response carries it too.
 */
import { SCOPES } from '../http/auth/principal.js';
import { newKeyId } from './key-material.js';
import type { KeyStore } from './key-store.js';

export type BootstrapOutcome = 'env' | 'generated' | 'existing' | 'none';

export interface BootstrapOptions {
  /** TASKWIRE_ADMIN_KEY (or the contents of TASKWIRE_ADMIN_KEY_FILE). */
  adminKey?: string;
  /** TASKWIRE_API_KEYS is set. */
  keysConfigured: boolean;
  /** TASKWIRE_API_KEYS holds an admin key (bare or `admin:`). */
  configuredAdmin: boolean;
  /** Where the generated key is shown once (default: stdout). */
  print?: (text: string) => void;
}

const META_ID = 'bootstrap_key_id';
const META_SHOWN = 'bootstrap_key_shown_at';

export const printToStdout = (text: string): void => {
  process.stdout.write(text);
};

export function bootstrapText(secret: string): string {
  return [
    '',
    '================================================================================',
    ' taskwire: a bootstrap admin key was generated for this cluster. It is shown',
    ' ONCE and stored only hashed: keep it now (e.g. export TASKWIRE_API_KEY=...).',
    '',
    `   ${secret}`,
    '',
    ' Create tenants and their keys with it: taskwire admin keys create --tenant ...',
    '================================================================================',
    '',
  ].join('\n');
}

/** Generates the bootstrap admin key, prints it once and returns its secret. */
export function generateBootstrapAdmin(store: KeyStore, print: (text: string) => void = printToStdout): { keyId: string; secret: string } {
  const id = store.getMeta(META_ID) ?? newKeyId();
  const { key, secret } = store.createKey({ scopes: SCOPES, name: 'bootstrap admin' }, store.key(id) ? newKeyId() : id);
  store.setMeta(META_ID, key.id);
  store.setMeta(META_SHOWN, new Date().toISOString());
  print(bootstrapText(secret));
  return { keyId: key.id, secret };
}

export function bootstrapAdmin(store: KeyStore, o: BootstrapOptions): BootstrapOutcome {
  if (o.adminKey) {
    const id = store.getMeta(META_ID) ?? newKeyId();
    store.setMeta(META_ID, id);
    store.setSecret(id, o.adminKey, { scopes: SCOPES, name: 'bootstrap admin (TASKWIRE_ADMIN_KEY)' });
    return 'env';
  }
  if (store.getMeta(META_SHOWN) !== undefined) return 'existing';
  const keysRequired = o.keysConfigured || store.active;
  if (!keysRequired || o.configuredAdmin || store.hasActiveAdmin()) return 'none';
  generateBootstrapAdmin(store, o.print);
  return 'generated';
}
