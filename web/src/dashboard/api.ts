/**
 * The dashboard's REST client: same origin, the API key (if any) as
 * `Authorization: Bearer`, JSON in and out. A 401 becomes an
 * UnauthorizedError so the page can ask for a key; other errors carry the
 * server's code and message.
 */
import type { AccessKeyStore } from '../access-key.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(401, 'UNAUTHENTICATED', message);
    this.name = 'UnauthorizedError';
  }
}

export class Api {
  /** Called on every 401 (the page shows the key form). */
  onUnauthorized: (() => void) | undefined;

  constructor(readonly keys: AccessKeyStore) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.keys.get();
    return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
  }

  async get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(path, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: reported below
    }
    if (res.status === 401) {
      this.onUnauthorized?.();
      throw new UnauthorizedError('this master needs an API key');
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? (text.slice(0, 200) || res.statusText));
    }
    return json as T;
  }
}
