/**
 * A REST submit that cannot fit what the caller may still submit (its
 * payload budget) is refused with 429 from its Content-Length, before its
 * body is read: the master answers while the client has sent 1 KiB of a
 * declared 900 KiB. A submit that fits is read and admitted as before, and
 * the connection of a refused one stays usable.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ workers: 0, master: { maxUnfinishedBytes: 2 * 1024 * 1024 } });
});

afterAll(async () => {
  await c?.close();
});

/** Sends the headers and `sent` bytes of a body declared `declared` bytes long; resolves with the status once the master answers. */
function partial(declared: number, sent: number): Promise<{ status: number; retryAfter: string | undefined; body: string; end: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(declared) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body, end: () => req.destroy() }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => reject(new Error('no answer before the body was sent')));
    req.write('{"kind":"echo","input":{"text":"' + 'x'.repeat(Math.max(0, sent - 32)));
  });
}

describe('submit body guard', () => {
  it('admits submits that fit; once the budget is nearly used, refuses the next from its Content-Length before reading its body', async () => {
    const text = 'y'.repeat(900 * 1024);
    const post = () => fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text } }) });
    for (let i = 0; i < 2; i++) {
      const ok = await post();
      expect(ok.status).toBe(202);
      await ok.arrayBuffer();
    }
    // 1800 KiB held of 2 MiB: a declared 900 KiB body is answered after 1 KiB of it (without the guard the master would wait for the rest).
    const r = await partial(900 * 1024 + 40, 1024);
    r.end();
    expect(r.status).toBe(429);
    expect(r.retryAfter).toMatch(/^\d+$/);
    const err = JSON.parse(r.body) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.error.message).toMatch(/limit 2097152/);
    // A small submit still fits; a whole refused body sent on a kept-alive connection leaves it usable.
    const refused = await post();
    expect(refused.status).toBe(429);
    await refused.arrayBuffer();
    const small = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'hi' } }) });
    expect(small.status).toBe(202);
  });
});
