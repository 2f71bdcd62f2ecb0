/**
 * TASKWIRE_LIMITS_STORE=sqlite: the counters live in limits.db in the data
 * dir (rate-limiter-flexible's SQLite store on better-sqlite3), so a key's
 * window survives a master restart; usage metrics per tenant are opt-in.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor } from '../helpers/cluster.js';

const post = (url: string, text: string) => fetch(`${url}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text } }) });

describe('limit counters on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a window survives a restart', async () => {
    const master = { dataDir: dir, limitsStore: 'sqlite' as const, rateLimits: JSON.stringify([{ scope: 'key', requests_per_minute: 3, window_s: 600 }]) };
    let c = await startCluster({ workers: 0, master });
    try {
      for (let i = 0; i < 3; i++) expect((await post(c.httpUrl, `a${i}`)).status).toBe(202);
      expect((await post(c.httpUrl, 'a3')).status).toBe(429);
      expect(existsSync(join(dir, 'limits.db'))).toBe(true);
    } finally {
      await c.close();
    }
    c = await startCluster({ workers: 0, master });
    try {
      const r = await post(c.httpUrl, 'b0');
      expect(r.status).toBe(429);
      expect(r.headers.get('ratelimit')).toMatch(/^"key-rpm";r=0;t=\d+$/);
    } finally {
      await c.close();
    }
  });
});

describe('limits set over REST', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-limits-rest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const call = (url: string, method: string, body?: unknown) =>
    fetch(`${url}/api/v1/admin/limits`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  it('survive a restart (limits.json in the data dir) until DELETE goes back to TASKWIRE_RATE_LIMITS', async () => {
    const master = { dataDir: dir, rateLimits: JSON.stringify([{ scope: 'key', requests_per_minute: 100 }]) };
    let c = await startCluster({ workers: 0, master });
    try {
      expect(((await (await call(c.httpUrl, 'GET')).json()) as { source: string }).source).toBe('setting');
      expect((await call(c.httpUrl, 'PUT', { rules: [{ scope: 'tenant', requests_per_minute: 1 }] })).status).toBe(200);
    } finally {
      await c.close();
    }
    c = await startCluster({ workers: 0, master });
    try {
      const got = (await (await call(c.httpUrl, 'GET')).json()) as { source: string; rules: { scope: string }[] };
      expect(got).toMatchObject({ source: 'admin', rules: [{ scope: 'tenant', requests_per_minute: 1 }] });
      expect((await post(c.httpUrl, 'x')).status).toBe(202);
      expect((await post(c.httpUrl, 'y')).status).toBe(429);
      const reset = (await (await call(c.httpUrl, 'DELETE')).json()) as { source: string; rules: unknown[] };
      expect(reset).toMatchObject({ source: 'setting', rules: [{ scope: 'key', requests_per_minute: 100 }] });
      expect(existsSync(join(dir, 'limits.json'))).toBe(false);
    } finally {
      await c.close();
    }
  });
});

describe('usage metrics per tenant', () => {
  it('are on /metrics only with TASKWIRE_USAGE_METRICS=on', async () => {
    for (const usageMetrics of ['on', 'off'] as const) {
      const c = await startCluster({ workers: 1, master: { usageMetrics } });
      try {
        const { id } = (await (await post(c.httpUrl, 'metered')).json()) as { id: string };
        await waitFor(() => c.master.billing.store.rows({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }).some((r) => r.task_id === id), 'row');
        const text = await (await fetch(`${c.httpUrl}/metrics`)).text();
        if (usageMetrics === 'on') expect(text).toMatch(/^taskwire_usage_attempts_total\{tenant="default",kind="echo"\} 1$/m);
        else expect(text).not.toMatch(/taskwire_usage_/);
      } finally {
        await c.close();
      }
    }
  });
});
