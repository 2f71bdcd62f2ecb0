/**
 * Who is calling: one module resolves the caller of every surface (REST, the
 * OpenAI gateway, KServe, /metrics, the Socket.IO handshake) into a Principal.
 * Routes ask the principal, never the raw header.
 *
 * - No API keys configured (and none stored): every caller is LOCAL_PRINCIPAL
 *   (an admin of tenant `default`), as before.
 * - API keys configured (`TASKWIRE_API_KEYS`) or created through the admin
 *   routes (master/tenancy/): a caller without a valid key has no principal
 *   and is refused (401) unless the route is open (open-routes.ts).
 *
 * A principal is `{ id, tenant, scopes, role, user?, kinds?, models? }`:
 * `id` is the key id (`key-<hex>`, never reveals the key), `tenant` the
 * isolation boundary (`default` when none), `scopes` what it may do
 * (`submit`, `read`, `operate`, `admin`), `kinds` / `models` optional
 * allow-lists, `role` the compatibility summary of the scopes.
 *
 * A configured key may carry its role as a prefix: `user:KEY` (submit, read),
 * `operator:KEY` (+ operate), `admin:KEY` (+ admin); a bare key is an
 * `admin`. Configured keys are in tenant `default`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const ROLES = ['admin', 'operator', 'user'] as const;
export type Role = (typeof ROLES)[number];

export const SCOPES = ['submit', 'read', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The tenant of configured keys, of the local caller and of tasks from before tenancy. */
export const DEFAULT_TENANT = 'default';

export interface Principal {
  /** Key id (`key-<hex>`), `local` or `anonymous`: stable, never the key. */
  readonly id: string;
  readonly tenant: string;
  readonly scopes: readonly Scope[];
  /** Summary of the scopes (admin > operator > user), for code that predates scopes. */
  readonly role: Role;
  /** The user the key belongs to, when it names one. */
  readonly user?: string;
  /** Only these task kinds may be submitted (absent: any). */
  readonly kinds?: readonly string[];
  /** Only these models may be asked for (absent: any). */
  readonly models?: readonly string[];
  /** The key ids whose tasks are this principal's own: its key and the other keys of its user (absent: `id` alone). */
  readonly owners?: () => readonly string[];
}

/** The key ids whose tasks `p` owns (a user key sees these only). */
export function ownersOf(p: Principal): readonly string[] {
  return p.owners?.() ?? [p.id];
}

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  user: ['submit', 'read'],
  operator: ['submit', 'read', 'operate'],
  admin: ['submit', 'read', 'operate', 'admin'],
};

export function roleOf(scopes: readonly Scope[]): Role {
  return scopes.includes('admin') ? 'admin' : scopes.includes('operate') ? 'operator' : 'user';
}

export interface PrincipalInit {
  id: string;
  tenant?: string;
  scopes: readonly Scope[];
  user?: string;
  kinds?: readonly string[];
  models?: readonly string[];
  owners?: () => readonly string[];
}

/** A frozen principal (scopes in canonical order, role derived). */
export function makePrincipal(init: PrincipalInit): Principal {
  const scopes = Object.freeze(SCOPES.filter((s) => init.scopes.includes(s)));
  const p: { -readonly [K in keyof Principal]: Principal[K] } = { id: init.id, tenant: init.tenant ?? DEFAULT_TENANT, scopes, role: roleOf(scopes) };
  if (init.user !== undefined) p.user = init.user;
  if (init.kinds !== undefined) p.kinds = Object.freeze([...init.kinds]);
  if (init.models !== undefined) p.models = Object.freeze([...init.models]);
  if (init.owners !== undefined) p.owners = init.owners;
  return Object.freeze(p);
}

/** The caller when no API keys are configured (today's behaviour: may do everything). */
export const LOCAL_PRINCIPAL: Principal = makePrincipal({ id: 'local', scopes: ROLE_SCOPES.admin });

/** A caller without a key on an open route while keys are configured: the least role. */
export const ANONYMOUS_PRINCIPAL: Principal = makePrincipal({ id: 'anonymous', scopes: ROLE_SCOPES.user });

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes(scope);
}

/** A cluster operator (tenant `default` with operate scope) sees every tenant's tasks and sessions. */
export function seesAll(p: Principal): boolean {
  return p.tenant === DEFAULT_TENANT && hasScope(p, 'operate');
}

/** May `p` see (read, cancel, retry) a task of `tenant`? Its own tenant, or everything as a cluster operator. */
export function seesTenant(p: Principal, tenant: string | undefined): boolean {
  return seesAll(p) || (tenant ?? DEFAULT_TENANT) === p.tenant;
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The key id of a configured key: derived from its digest, stable, never reveals the key. */
export function configuredKeyId(key: string): string {
  return `key-${sha256(key).toString('hex').slice(0, 12)}`;
}

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

/**
 * Keys kept elsewhere (master/tenancy's key store): resolves a presented key
 * to its principal, or undefined. `active` says whether any key exists (then
 * callers must present one).
 */
export interface KeyResolver {
  readonly active: boolean;
  /** `digest`: the key's sha256, computed once by the Authenticator. */
  resolve(key: string, digest?: Buffer): Principal | undefined;
}

export class Authenticator {
  private readonly keys: KeyEntry[];
  private readonly resolvers: KeyResolver[] = [];
  private readonly invalidatedListeners = new Set<(keyId: string) => void>();

  constructor(apiKeys: Iterable<string> = []) {
    this.keys = [...new Set(apiKeys)].filter(Boolean).map((entry) => {
      const { key, role } = parseApiKey(entry);
      return { digest: sha256(key), principal: makePrincipal({ id: configuredKeyId(key), scopes: ROLE_SCOPES[role] }) };
    });
  }

  /** Also accept the keys of `resolver` (the key store); keys are required once it has any. */
  use(resolver: KeyResolver): this {
    this.resolvers.push(resolver);
    return this;
  }

  /** Keys are configured or stored: callers must present one. */
  get required(): boolean {
    return this.keys.length > 0 || this.resolvers.some((r) => r.active);
  }

  /**
   * The principal of a caller presenting `key` (undefined = refused). Compares
   * against every configured key, always, so timing says nothing about which
   * matched; stored keys are looked up by their digest.
   */
  resolve(key: string | undefined): Principal | undefined {
    if (!this.required) return LOCAL_PRINCIPAL;
    if (!key) return undefined;
    const given = sha256(key);
    let found: Principal | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.digest, given)) found = k.principal;
    if (found) return found;
    for (const r of this.resolvers) {
      const p = r.resolve(key, given);
      if (p) return p;
    }
    return undefined;
  }

  /**
   * A key was revoked or rotated: surfaces holding long-lived connections of
   * that principal (Socket.IO, the event stream) drop them. Returns the unsubscribe.
   */
  onInvalidated(listener: (keyId: string) => void): () => void {
    this.invalidatedListeners.add(listener);
    return () => this.invalidatedListeners.delete(listener);
  }

  invalidate(keyId: string): void {
    for (const l of [...this.invalidatedListeners]) {
      try {
        l(keyId);
      } catch {
        // one surface failing to drop its connections does not stop the others
      }
    }
  }

  /** Same, from an `Authorization` header value. */
  fromAuthorization(header: string | undefined): Principal | undefined {
    return this.resolve(bearerToken(header));
  }
}
