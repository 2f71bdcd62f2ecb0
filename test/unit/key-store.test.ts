/**
 * The key store: tenants, users and keys; secrets shown once and stored
 * hashed; rotate and revoke take effect at once; SQLite keeps everything
 * across a reopen; the bootstrap admin key (from the setting, or generated
 * and printed once per data dir).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../master/http/auth/principal.js';
import { KeyStore } from '../../master/tenancy/key-store.js';
import { MemoryTenancyPersistence } from '../../master/tenancy/tenancy-persistence.js';
import { SqliteTenancyPersistence } from '../../master/tenancy/sqlite-tenancy-persistence.js';
import { openTenancy } from '../../master/tenancy/tenancy.js';

const clock = { now: () => Date.now() };
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'taskwire-tenancy-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('KeyStore', () => {
  it('creates tenants and keys; a key resolves to its tenant and scopes; listings never show the secret', () => {
    const store = new KeyStore(new MemoryTenancyPersistence(), clock);
    expect(store.active).toBe(false);
    store.createTenant({ id: 'acme', name: 'Acme' });
    expect(() => store.createTenant({ id: 'acme' })).toThrow(/exists/);
    expect(() => store.createKey({ tenant: 'nope', scopes: ['read'] })).toThrow(expect.objectContaining({ field: 'tenant' }));
    store.createUser({ tenant: 'acme', id: 'alice' });
    expect(() => store.createKey({ tenant: 'acme', user: 'bob', scopes: ['read'] })).toThrow(expect.objectContaining({ field: 'user' }));
    const { key, secret } = store.createKey({ tenant: 'acme', user: 'alice', scopes: ['submit', 'read'], kinds: ['echo'] });
    expect(store.active).toBe(true);
    expect(key.id).toMatch(/^key-[0-9a-f]{16}$/);
    expect(secret).toMatch(/^tw_[A-Za-z0-9_-]{43}$/);
    expect(key.id).not.toContain(secret.slice(3, 10));
    const p = store.resolve(secret)!;
    expect(p).toMatchObject({ id: key.id, tenant: 'acme', user: 'alice', scopes: ['submit', 'read'], role: 'user', kinds: ['echo'] });
    expect(store.resolve(`${secret}x`)).toBeUndefined();
    expect(JSON.stringify(store.listKeys())).not.toContain(secret);
    expect(JSON.stringify(store.listKeys())).not.toContain(key.prefix + secret.slice(key.prefix.length)); // prefix only
    expect(store.listKeys('acme')).toHaveLength(1);
    expect(store.listKeys('default')).toHaveLength(0);
    expect(store.listTenants().find((t) => t.id === 'acme')).toMatchObject({ keys: 1 });
  });

  it('rotate: the old secret stops working at once, the new one works; revoke: nothing works, invalidated fires', () => {
    const store = new KeyStore(new MemoryTenancyPersistence(), clock);
    const fired: string[] = [];
    store.on('invalidated', (id) => fired.push(id));
    const { key, secret } = store.createKey({ scopes: ['read'] });
    const rotated = store.rotateKey(key.id);
    expect(rotated.key.id).toBe(key.id);
    expect(store.resolve(secret)).toBeUndefined();
    expect(store.resolve(rotated.secret)?.id).toBe(key.id);
    expect(store.revokeKey(key.id).status).toBe('revoked');
    expect(store.resolve(rotated.secret)).toBeUndefined();
    expect(store.active).toBe(true); // revoking the last key never opens the cluster again
    const auth = new Authenticator().use(store);
    expect(auth.required).toBe(true);
    expect(auth.resolve(undefined)).toBeUndefined();
    expect(fired).toEqual([key.id, key.id]);
    expect(() => store.rotateKey(key.id)).toThrow(/revoked/);
    expect(store.revokeKey(key.id).status).toBe('revoked'); // idempotent
    expect(() => store.revokeKey('key-0000')).toThrow(/no key/);
  });

  it('SQLite: tenants, users, keys (hashed) and revocations survive a reopen; the file is 0600', () => {
    const dir = tempDir();
    const path = join(dir, 'tenancy.db');
    const a = new KeyStore(new SqliteTenancyPersistence(path), clock);
    a.createTenant({ id: 'acme' });
    a.createUser({ tenant: 'acme', id: 'alice' });
    const kept = a.createKey({ tenant: 'acme', user: 'alice', scopes: ['submit', 'read'], models: ['m1'] });
    const gone = a.createKey({ tenant: 'acme', scopes: ['read'] });
    a.revokeKey(gone.key.id);
    a.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path).includes(Buffer.from(kept.secret))).toBe(false);
    const b = new KeyStore(new SqliteTenancyPersistence(path), clock);
    expect(b.resolve(kept.secret)).toMatchObject({ tenant: 'acme', user: 'alice', models: ['m1'] });
    expect(b.resolve(gone.secret)).toBeUndefined();
    expect(b.listTenants().map((t) => t.id)).toEqual(['default', 'acme']);
    expect(b.listUsers('acme').map((u) => u.id)).toEqual(['alice']);
    b.close();
  });
});

describe('bootstrap admin key', () => {
  it('TASKWIRE_ADMIN_KEY is an admin key of tenant default; changing it replaces the secret', () => {
    const dir = tempDir();
    const printed: string[] = [];
    const auth = new Authenticator();
    const t = openTenancy({ dataDir: dir, adminKey: 'env-admin-key-1', apiKeys: [], clock, print: (s) => printed.push(s) }, auth);
    expect(t.bootstrap).toBe('env');
    expect(auth.required).toBe(true);
    expect(auth.resolve('env-admin-key-1')).toMatchObject({ tenant: 'default', role: 'admin' });
    const id = auth.resolve('env-admin-key-1')!.id;
    t.keys.close();
    const auth2 = new Authenticator();
    const t2 = openTenancy({ dataDir: dir, adminKey: 'env-admin-key-2', apiKeys: [], clock, print: (s) => printed.push(s) }, auth2);
    expect(auth2.resolve('env-admin-key-1')).toBeUndefined();
    expect(auth2.resolve('env-admin-key-2')?.id).toBe(id);
    expect(printed).toEqual([]);
    t2.keys.close();
  });

  it('generated once when keys are required without an admin key; printed once per data dir, never again', () => {
    const dir = tempDir();
    const printed: string[] = [];
    const print = (s: string) => printed.push(s);
    const auth = new Authenticator(['user:only-a-user-key']);
    const t = openTenancy({ dataDir: dir, apiKeys: ['user:only-a-user-key'], clock, print }, auth);
    expect(t.bootstrap).toBe('generated');
    expect(printed).toHaveLength(1);
    const secret = /(tw_[A-Za-z0-9_-]{43})/.exec(printed[0]!)![1]!;
    expect(auth.resolve(secret)).toMatchObject({ tenant: 'default', role: 'admin' });
    t.keys.close();
    const auth2 = new Authenticator(['user:only-a-user-key']);
    const t2 = openTenancy({ dataDir: dir, apiKeys: ['user:only-a-user-key'], clock, print }, auth2);
    expect(t2.bootstrap).toBe('existing');
    expect(printed).toHaveLength(1);
    expect(auth2.resolve(secret)?.role).toBe('admin');
    t2.keys.close();
  });

  it('not generated without keys (local admin) nor when TASKWIRE_API_KEYS has an admin key', () => {
    const printed: string[] = [];
    expect(openTenancy({ apiKeys: [], clock, print: (s) => printed.push(s) }, new Authenticator()).bootstrap).toBe('none');
    expect(openTenancy({ apiKeys: ['admin-key-x'], clock, print: (s) => printed.push(s) }, new Authenticator(['admin-key-x'])).bootstrap).toBe('none');
    expect(printed).toEqual([]);
  });
});
