/**
 * API key secrets and ids: a secret is `tw_` + 32 random bytes (base64url,
 * 256 bits), so a plain sha256 is a safe digest to store (no dictionary to
 * walk); key ids are random too and say nothing about the secret.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from '../http/auth/principal.js';

export const KEY_PREFIX = 'tw_';

export function newKeySecret(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function newKeyId(): string {
  return `key-${randomBytes(8).toString('hex')}`;
}

export function hashKey(secret: string): string {
  return sha256(secret).toString('hex');
}

/** What a listing shows of a secret: enough to recognise it, far too little to use it. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, KEY_PREFIX.length + 4);
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
