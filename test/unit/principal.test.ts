/** The principal: configured keys map role prefixes to scopes in tenant `default`; stored keys resolve through a KeyResolver. */
import { describe, expect, it } from 'vitest';
import {
  ANONYMOUS_PRINCIPAL, Authenticator, configuredKeyId, LOCAL_PRINCIPAL, makePrincipal, seesAll, seesTenant, type KeyResolver,
} from '../../master/http/auth/principal.js';

describe('Principal', () => {
  it('configured keys: role prefixes become scopes, tenant default, id from the digest', () => {
    const auth = new Authenticator(['bare-key-1', 'user:user-key-1', 'operator:op-key-1', 'admin:adm-key-1']);
    expect(auth.required).toBe(true);
    expect(auth.resolve('bare-key-1')).toMatchObject({ role: 'admin', tenant: 'default', scopes: ['submit', 'read', 'operate', 'admin'] });
    expect(auth.resolve('user-key-1')).toMatchObject({ role: 'user', tenant: 'default', scopes: ['submit', 'read'] });
    expect(auth.resolve('op-key-1')).toMatchObject({ role: 'operator', scopes: ['submit', 'read', 'operate'] });
    expect(auth.resolve('adm-key-1')?.id).toBe(configuredKeyId('adm-key-1'));
    expect(auth.resolve('adm-key-1')?.id).not.toContain('adm-key-1');
    expect(auth.resolve('user:user-key-1')).toBeUndefined(); // the prefix is not part of the key
    expect(auth.resolve('nope')).toBeUndefined();
    expect(auth.resolve(undefined)).toBeUndefined();
    expect(auth.fromAuthorization('Bearer op-key-1')?.role).toBe('operator');
  });

  it('no keys: everyone is the local admin; a resolver with keys makes keys required', () => {
    const auth = new Authenticator();
    expect(auth.resolve(undefined)).toBe(LOCAL_PRINCIPAL);
    const stored = makePrincipal({ id: 'key-abc', tenant: 'acme', scopes: ['submit', 'read'], kinds: ['echo'] });
    const resolver: KeyResolver & { active: boolean } = { active: false, resolve: (k) => (k === 'stored-1' ? stored : undefined) };
    auth.use(resolver);
    expect(auth.required).toBe(false);
    resolver.active = true;
    expect(auth.required).toBe(true);
    expect(auth.resolve(undefined)).toBeUndefined();
    expect(auth.resolve('stored-1')).toBe(stored);
    expect(auth.resolve('other')).toBeUndefined();
  });

  it('visibility: a cluster operator (default + operate) sees every tenant; others only their own', () => {
    const acmeOp = makePrincipal({ id: 'k1', tenant: 'acme', scopes: ['read', 'operate'] });
    const defaultUser = makePrincipal({ id: 'k2', scopes: ['submit', 'read'] });
    expect(seesAll(LOCAL_PRINCIPAL)).toBe(true);
    expect(seesAll(acmeOp)).toBe(false);
    expect(seesAll(defaultUser)).toBe(false);
    expect(seesAll(ANONYMOUS_PRINCIPAL)).toBe(false);
    expect(seesTenant(acmeOp, 'acme')).toBe(true);
    expect(seesTenant(acmeOp, 'default')).toBe(false);
    expect(seesTenant(defaultUser, undefined)).toBe(true);
    expect(seesTenant(LOCAL_PRINCIPAL, 'acme')).toBe(true);
    expect(Object.isFrozen(acmeOp) && Object.isFrozen(acmeOp.scopes)).toBe(true);
  });
});
