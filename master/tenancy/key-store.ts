/**
 * The key store: tenants, users and API keys, managed by an admin; create,
 * list, rotate, revoke. A key's secret is shown once (the return value of
 * `createKey` / `rotateKey`) and kept only as its sha256. The store is the
 * Authenticator's resolver for stored keys (KeyResolver): a presented key is
 * looked up by its digest and compared in constant time; a revoked or
 * rotated-away secret resolves to nothing at once. `invalidated` fires with
 * the key id when a key is revoked or rotated, so surfaces holding
 * long-lived connections (Socket.IO, the event stream) can drop them.
 */
import { EventEmitter } from 'node:events';
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors.js';
import type { Clock } from '../../common/clock.js';
import { DEFAULT_TENANT, makePrincipal, type KeyResolver, type Principal, type Scope } from '../http/auth/principal.js';
import { displayPrefix, hashKey, newKeyId, newKeySecret, sameHash } from './key-material.js';
import type { TenancyChange, TenancyPersistence } from './tenancy-persistence.js';
import { keyView, type ApiKeyRecord, type ApiKeyView, type TenantRecord, type TenantView, type UserRecord } from './tenancy-records.js';

export interface KeyStoreEvents {
  invalidated: [keyId: string];
}

export interface CreateKeyRequest {
  tenant?: string;
  user?: string;
  name?: string;
  scopes: readonly Scope[];
  kinds?: readonly string[];
  models?: readonly string[];
}

/** Bounds on what an admin can make the master hold. */
export const KEY_STORE_LIMITS = { tenants: 10_000, keys: 100_000, users: 100_000 } as const;

interface KeyEntry {
  record: ApiKeyRecord;
  principal: Principal;
}

export class KeyStore extends EventEmitter<KeyStoreEvents> implements KeyResolver {
  private readonly tenants = new Map<string, TenantRecord>();
  private readonly users = new Map<string, UserRecord>();
  private readonly keys = new Map<string, KeyEntry>();
  /** Active keys by the hex digest of their secret. */
  private readonly byHash = new Map<string, KeyEntry>();
  /** Key ids (revoked ones too: their tasks stay the user's) by `tenant/user`. */
  private readonly byUser = new Map<string, string[]>();

  constructor(
    private readonly persistence: TenancyPersistence,
    private readonly clock: Clock,
  ) {
    super();
    const snap = persistence.load();
    this.tenants.set(DEFAULT_TENANT, { id: DEFAULT_TENANT, name: 'default', createdAtMs: 0 });
    for (const t of snap.tenants) this.tenants.set(t.id, t);
    for (const u of snap.users) this.users.set(`${u.tenant}/${u.id}`, u);
    for (const k of snap.keys) this.index(k);
    persistence.watch?.((c) => this.applyRemote(c));
  }

  /** Resolves once every change made here is kept (PostgreSQL: committed); admin routes answer after it. */
  async flushed(): Promise<void> {
    await this.persistence.flushed?.();
  }

  /**
   * A row another master wrote (shared persistence): taken as it is. A key
   * whose secret changed or that was revoked stops resolving here at once
   * and `invalidated` fires (open connections with it are dropped).
   */
  applyRemote(c: TenancyChange): void {
    if ('tenant' in c) this.tenants.set(c.tenant.id, c.tenant);
    else if ('user' in c) this.users.set(`${c.user.tenant}/${c.user.id}`, c.user);
    else {
      const old = this.keys.get(c.key.id)?.record;
      if (old && old.hash === c.key.hash && old.revokedAtMs === c.key.revokedAtMs && old.rotatedAtMs === c.key.rotatedAtMs) return;
      if (old) this.byHash.delete(old.hash);
      this.index(c.key);
      if (old && old.revokedAtMs === null && (old.hash !== c.key.hash || c.key.revokedAtMs !== null)) this.emit('invalidated', c.key.id);
    }
  }

  /**
   * A key was ever created here: callers must present one. Revoking every key
   * does not open the cluster again (recover with TASKWIRE_ADMIN_KEY).
   */
  get active(): boolean {
    return this.keys.size > 0;
  }

  resolve(secret: string, digest?: Buffer): Principal | undefined {
    const hash = digest ? digest.toString('hex') : hashKey(secret);
    const e = this.byHash.get(hash);
    return e && e.record.revokedAtMs === null && sameHash(e.record.hash, hash) ? e.principal : undefined;
  }

  // ---- tenants and users ----

  createTenant(req: { id: string; name?: string }): TenantRecord {
    if (this.tenants.has(req.id)) throw new ConflictError(`tenant ${req.id} exists`);
    if (this.tenants.size >= KEY_STORE_LIMITS.tenants) throw new ConflictError(`at most ${KEY_STORE_LIMITS.tenants} tenants`);
    const t: TenantRecord = { id: req.id, name: req.name ?? null, createdAtMs: this.clock.now() };
    this.persistence.putTenant(t);
    this.tenants.set(t.id, t);
    return t;
  }

  tenant(id: string): TenantRecord | undefined {
    return this.tenants.get(id);
  }

  listTenants(): TenantView[] {
    const counts = new Map<string, number>();
    for (const e of this.keys.values()) if (e.record.revokedAtMs === null) counts.set(e.record.tenant, (counts.get(e.record.tenant) ?? 0) + 1);
    return [...this.tenants.values()].map((t) => ({ id: t.id, name: t.name, created_at: new Date(t.createdAtMs).toISOString(), keys: counts.get(t.id) ?? 0 }));
  }

  createUser(req: { tenant: string; id: string; name?: string }): UserRecord {
    this.requireTenant(req.tenant, 'tenant');
    const k = `${req.tenant}/${req.id}`;
    if (this.users.has(k)) throw new ConflictError(`user ${req.id} exists in tenant ${req.tenant}`);
    if (this.users.size >= KEY_STORE_LIMITS.users) throw new ConflictError(`at most ${KEY_STORE_LIMITS.users} users`);
    const u: UserRecord = { tenant: req.tenant, id: req.id, name: req.name ?? null, createdAtMs: this.clock.now() };
    this.persistence.putUser(u);
    this.users.set(k, u);
    return u;
  }

  listUsers(tenant?: string): UserRecord[] {
    return [...this.users.values()].filter((u) => tenant === undefined || u.tenant === tenant);
  }

  // ---- keys ----

  /** A new key; its secret is returned here and never again. */
  createKey(req: CreateKeyRequest, id = newKeyId()): { key: ApiKeyView; secret: string } {
    const tenant = req.tenant ?? DEFAULT_TENANT;
    this.requireTenant(tenant, 'tenant');
    if (req.user !== undefined && !this.users.has(`${tenant}/${req.user}`)) throw new ValidationError('user', `no user ${req.user} in tenant ${tenant}`);
    if (this.keys.has(id)) throw new ConflictError(`key ${id} exists`);
    if (this.keys.size >= KEY_STORE_LIMITS.keys) throw new ConflictError(`at most ${KEY_STORE_LIMITS.keys} keys`);
    const secret = newKeySecret();
    const record: ApiKeyRecord = {
      id, tenant, user: req.user ?? null, name: req.name ?? null, scopes: [...req.scopes],
      kinds: req.kinds ? [...req.kinds] : null, models: req.models ? [...req.models] : null,
      hash: hashKey(secret), prefix: displayPrefix(secret), createdAtMs: this.clock.now(), rotatedAtMs: null, revokedAtMs: null,
    };
    this.persistence.putKey(record);
    this.index(record);
    return { key: keyView(record), secret };
  }

  /** Every key (of one tenant when given), active and revoked; never a secret. */
  listKeys(tenant?: string): ApiKeyView[] {
    const out: ApiKeyView[] = [];
    for (const e of this.keys.values()) if (tenant === undefined || e.record.tenant === tenant) out.push(keyView(e.record));
    return out;
  }

  key(id: string): ApiKeyView | undefined {
    const e = this.keys.get(id);
    return e && keyView(e.record);
  }

  /** A new secret for the same key (id, tenant, scopes); the old secret stops working now. */
  rotateKey(id: string): { key: ApiKeyView; secret: string } {
    const e = this.requireKey(id);
    if (e.record.revokedAtMs !== null) throw new ConflictError(`key ${id} is revoked`);
    const secret = newKeySecret();
    const record: ApiKeyRecord = { ...e.record, hash: hashKey(secret), prefix: displayPrefix(secret), rotatedAtMs: this.clock.now() };
    this.persistence.putKey(record);
    this.byHash.delete(e.record.hash);
    this.index(record);
    this.emit('invalidated', id);
    return { key: keyView(record), secret };
  }

  /** Revokes a key at once (idempotent). */
  revokeKey(id: string): ApiKeyView {
    const e = this.requireKey(id);
    if (e.record.revokedAtMs === null) {
      const record: ApiKeyRecord = { ...e.record, revokedAtMs: this.clock.now() };
      this.persistence.putKey(record);
      this.byHash.delete(e.record.hash);
      this.index(record);
      this.emit('invalidated', id);
    }
    return keyView(this.keys.get(id)!.record);
  }

  /** Sets the secret of key `id` (the bootstrap admin key from TASKWIRE_ADMIN_KEY), creating it when missing. */
  setSecret(id: string, secret: string, req: CreateKeyRequest): void {
    const old = this.keys.get(id);
    const hash = hashKey(secret);
    if (old && old.record.revokedAtMs === null && sameHash(old.record.hash, hash)) return;
    const base: ApiKeyRecord = old?.record ?? {
      id, tenant: req.tenant ?? DEFAULT_TENANT, user: null, name: req.name ?? null, scopes: [...req.scopes], kinds: null, models: null,
      hash, prefix: '', createdAtMs: this.clock.now(), rotatedAtMs: null, revokedAtMs: null,
    };
    const record: ApiKeyRecord = { ...base, hash, prefix: displayPrefix(secret), rotatedAtMs: old ? this.clock.now() : null, revokedAtMs: null };
    this.persistence.putKey(record);
    if (old) this.byHash.delete(old.record.hash);
    this.index(record);
    if (old) this.emit('invalidated', id);
  }

  /** The allow-lists of key `id` (TaskService.useAllowLists), undefined when it has none. */
  allowList(id: string): { kinds?: readonly string[]; models?: readonly string[] } | undefined {
    const e = this.keys.get(id);
    if (!e || (e.record.kinds === null && e.record.models === null)) return undefined;
    return { ...(e.record.kinds && { kinds: e.record.kinds }), ...(e.record.models && { models: e.record.models }) };
  }

  /** Some active key of tenant `default` has the admin scope. */
  hasActiveAdmin(): boolean {
    for (const e of this.byHash.values()) if (e.record.tenant === DEFAULT_TENANT && e.record.scopes.includes('admin')) return true;
    return false;
  }

  getMeta(key: string): string | undefined {
    return this.persistence.getMeta(key);
  }

  setMeta(key: string, value: string): void {
    this.persistence.setMeta(key, value);
  }

  close(): void {
    this.persistence.close();
  }

  private index(record: ApiKeyRecord): void {
    const userKey = record.user === null ? undefined : `${record.tenant}/${record.user}`;
    if (userKey !== undefined && !this.keys.has(record.id)) this.byUser.set(userKey, [...(this.byUser.get(userKey) ?? []), record.id]);
    const principal = makePrincipal({
      id: record.id, tenant: record.tenant, scopes: record.scopes,
      ...(record.user !== null && { user: record.user }), ...(record.kinds && { kinds: record.kinds }), ...(record.models && { models: record.models }),
      // A user's keys share their tasks (a user key sees its own and its user's other keys' tasks).
      ...(userKey !== undefined && { owners: () => this.byUser.get(userKey) ?? [record.id] }),
    });
    const e: KeyEntry = { record, principal };
    this.keys.set(record.id, e);
    if (record.revokedAtMs === null) this.byHash.set(record.hash, e);
  }

  private requireTenant(id: string, field: string): void {
    if (!this.tenants.has(id)) throw new ValidationError(field, `no tenant ${id} (create it first: POST /api/v1/admin/tenants)`);
  }

  private requireKey(id: string): KeyEntry {
    const e = this.keys.get(id);
    if (!e) throw new NotFoundError(`no key ${id}`);
    return e;
  }
}
