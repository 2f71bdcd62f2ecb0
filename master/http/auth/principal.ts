/**
 * Who is calling: one module resolves the caller of every surface (REST, the
 * OpenAI gateway, KServe, /metrics, the Socket.IO handshake) into a Principal.
 * Routes ask the principal, never the raw header.
 *
 * - No API keys configured: every caller is LOCAL_PRINCIPAL (an admin), as before.
 * - API keys configured (`TASKWIRE_API_KEYS`): a caller without a valid key has
 *   no principal and is refused (401) unless the route is open (open-routes.ts).
 *
 * A key may carry its role as a prefix: `user:KEY`, `operator:KEY`,
 * `admin:KEY`; a bare key is an `admin`. The principal id is derived from the
 * key's digest (`key-<12 hex>`), so it is stable and never reveals the key.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const ROLES = ['admin', 'operator', 'user'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly id: string;
  readonly role: Role;
  /** `default` until tenancy lands. */
  readonly tenant: 'default';
}

/** The caller when no API keys are configured (today's behaviour: may do everything). */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({ id: 'local', role: 'admin', tenant: 'default' });

/** A caller without a key on an open route while keys are configured: the least role. */
export const ANONYMOUS_PRINCIPAL: Principal = Object.freeze({ id: 'anonymous', role: 'user', tenant: 'default' });

/** Operators and admins see every task and session; users only their own. */
export function seesAll(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'operator';
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

interface KeyEntry {
  digest: Buffer;
  principal: Principal;
}

/** Splits an optional `role:` prefix off a configured key. */
export function parseApiKey(entry: string): { key: string; role: Role } {
  const m = /^(admin|operator|user):(.+)$/.exec(entry);
  return m ? { key: m[2]!, role: m[1] as Role } : { key: entry, role: 'admin' };
}

/** `Authorization: Bearer <key>` → the key, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m?.[1]?.trim() || undefined;
}

export class Authenticator {
  private readonly keys: KeyEntry[];

  constructor(apiKeys: Iterable<string> = []) {
    this.keys = [...new Set(apiKeys)].filter(Boolean).map((entry) => {
      const { key, role } = parseApiKey(entry);
      const d = digest(key);
      return { digest: d, principal: Object.freeze({ id: `key-${d.toString('hex').slice(0, 12)}`, role, tenant: 'default' as const }) };
    });
  }

  /** Keys are configured: callers must present one. */
  get required(): boolean {
    return this.keys.length > 0;
  }

  /**
   * The principal of a caller presenting `key` (undefined = refused). Compares
   * against every key, always, so timing says nothing about which matched.
   */
  resolve(key: string | undefined): Principal | undefined {
    if (!this.required) return LOCAL_PRINCIPAL;
    if (!key) return undefined;
    const given = digest(key);
    let found: Principal | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.digest, given)) found = k.principal;
    return found;
  }

  /** Same, from an `Authorization` header value. */
  fromAuthorization(header: string | undefined): Principal | undefined {
    return this.resolve(bearerToken(header));
  }
}
