/**
 * HTTP hardening on a real master (port 0): the Socket.IO Origin check,
 * security headers, kind names that never reach a 500, malformed paths, and
 * KServe's content-type leniency and error body shape; plus the HTTP bind
 * default and the exposure warning.
 */
import express from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { silentLogger } from '../../common/logger.js';
import { resolveMasterOptions } from '../../master/config.js';
import { warnIfExposed } from '../../master/http/auth/exposure-warning.js';
import { createKserveApi, type KserveBackend } from '../../master/http/kserve-api.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

function handshake(url: string, origin?: string): Promise<'connected' | string> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, timeout: 5000, extraHeaders: origin ? { origin } : {} });
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.close();
      resolve('connected');
    });
    socket.once('connect_error', (err) => {
      socket.close();
      resolve(err.message || 'refused');
    });
  });
}

describe('HTTP hardening on a real master', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { allowedOrigins: ['https://chat.example.org'] } });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('a WebSocket handshake from a foreign Origin is refused; same origin and the allow-list are accepted', async () => {
    const port = new URL(c.httpUrl).port;
    expect(await handshake(c.httpUrl, 'https://evil.example.com')).not.toBe('connected');
    expect(await handshake(c.httpUrl, `http://127.0.0.1:${Number(port) + 1}`)).not.toBe('connected');
    expect(await handshake(c.httpUrl, 'null')).not.toBe('connected');
    expect(await handshake(c.httpUrl, `http://127.0.0.1:${port}`)).toBe('connected');
    expect(await handshake(c.httpUrl, 'https://chat.example.org')).toBe('connected');
    expect(await handshake(c.httpUrl)).toBe('connected'); // non-browser clients send no Origin
  });

  it('the polling transport is checked too', async () => {
    const res = await fetch(`${c.httpUrl}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example.com' } });
    expect(res.status).toBe(403);
    await res.arrayBuffer();
  });

  it('every answer carries CSP (frame-ancestors), X-Frame-Options, nosniff and Referrer-Policy', async () => {
    for (const path of ['/', '/healthz', '/api/v1/workers', '/no-such-route']) {
      const res = await fetch(`${c.httpUrl}${path}`);
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('upgrade-insecure-requests');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('strict-transport-security'), path).toBeNull();
    }
  });

  it('kind names are checked against one pattern: `constructor`, `__proto__` and bad names are 4xx naming the field', async () => {
    for (const kind of ['constructor', '__proto__', 'toString', 'Echo!', '', 'x'.repeat(65)]) {
      const res = await fetch(`${c.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind, input: {} }) });
      const body = (await res.json()) as { error: { code: string; field?: string } };
      expect(res.status, kind).toBeGreaterThanOrEqual(400);
      expect(res.status, kind).toBeLessThan(500);
      expect(body.error.field, kind).toBe('kind');
    }
    const socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false });
    try {
      const ack = (await socket.timeout(5000).emitWithAck('task:submit', { kind: 'constructor', input: {} })) as { ok: boolean; error?: { code: string; message: string } };
      expect(ack.ok).toBe(false);
      expect(ack.error!.code).not.toBe('INTERNAL');
      expect(ack.error!.message).toMatch(/^kind: /);
    } finally {
      socket.close();
    }
  });

  it('malformed percent-encoding in a path is 400, never 500', async () => {
    for (const path of ['/v1/models/%ZZ', '/v2/models/%ZZ', '/v2/models/%ZZ/ready', '/api/v1/tasks/%ZZ']) {
      const res = await fetch(`${c.httpUrl}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(400);
    }
    const res = await fetch(`${c.httpUrl}/v1/models/%ZZ`);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('every /v2 error body is {"error": "<string>"}, unknown routes included', async () => {
    for (const path of ['/v2/models/nope', '/v2/nothing-here', '/v2/models/%ZZ']) {
      const res = await fetch(`${c.httpUrl}${path}`);
      const body = (await res.json()) as { error: unknown };
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(typeof body.error, path).toBe('string');
    }
  });
});

describe('KServe infer accepts JSON whatever the Content-Type says', () => {
  let url = '';
  let close = async () => {};
  const seen: unknown[] = [];
  const backend: KserveBackend = {
    ready: () => true,
    models: () => [{ name: 'linear', versions: ['1'], ready: true }],
    async infer(_name, _version, request) {
      seen.push(request);
      return { model_name: 'linear', outputs: [{ name: 'Y', datatype: 'FP32', shape: [1, 1], data: [1] }] } as never;
    },
  };
  beforeAll(async () => {
    const app = express();
    app.use(createKserveApi(backend));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  });
  afterAll(() => close());

  const body = JSON.stringify({ inputs: [{ name: 'X', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
  it.each([
    ['no Content-Type (tritonclient.http)', undefined],
    ["curl's default form type", 'application/x-www-form-urlencoded'],
    ['text/plain', 'text/plain'],
    ['application/json', 'application/json'],
  ])('%s: 200', async (_name, type) => {
    // fetch adds text/plain for a string body; a Blob without type sends no Content-Type.
    const res = await fetch(`${url}/v2/models/linear/infer`, { method: 'POST', headers: type ? { 'content-type': type } : {}, body: type ? body : new Blob([body]) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { model_name: string }).model_name).toBe('linear');
  });

  it('the binary tensor extension is refused with {"error": string}', async () => {
    const res = await fetch(`${url}/v2/models/linear/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(body.length) },
      body,
    });
    expect(res.status).toBe(400);
    expect((await res.json()) as unknown).toEqual({ error: expect.stringMatching(/binary tensor extension/) });
  });
});

describe('safe by default on the network', () => {
  it('HTTP binds 127.0.0.1 without keys, 0.0.0.0 with keys, and an explicit host wins', () => {
    expect(resolveMasterOptions({}).httpHost).toBe('127.0.0.1');
    expect(resolveMasterOptions({ apiKeys: ['k'] }).httpHost).toBe('0.0.0.0');
    expect(resolveMasterOptions({ bindHost: '0.0.0.0' }).httpHost).toBe('0.0.0.0');
    expect(resolveMasterOptions({ httpHost: '10.0.0.5', apiKeys: ['k'] }).httpHost).toBe('10.0.0.5');
  });

  it('warns loudly when listening beyond loopback without keys', () => {
    const lines: string[] = [];
    const log = silentLogger();
    const spy = { ...log, warn: (_o: unknown, msg: string) => void lines.push(msg) } as unknown as typeof log;
    expect(warnIfExposed('127.0.0.1', false, spy)).toBe(false);
    expect(warnIfExposed('0.0.0.0', true, spy)).toBe(false);
    expect(warnIfExposed('0.0.0.0', false, spy)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/WITHOUT API keys.*TASKWIRE_API_KEYS/);
  });
});
