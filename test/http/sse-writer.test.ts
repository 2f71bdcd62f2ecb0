/**
 * SseWriter (master/http/sse-writer.ts) on a real HTTP server and real
 * sockets: tokens of one batch go out in one write, a client that stops
 * reading gets its text merged and held (bounded), the others keep streaming,
 * and a client that reads nothing while too much piles up is cut off.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import express, { type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { SseWriter } from '../../master/http/sse-writer.js';

const frame = (text: string) => `data: ${JSON.stringify({ t: text })}\n\n`;

interface Stream {
  writer: SseWriter;
  res: Response;
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections();
  server = undefined;
});

/** An HTTP server whose GET /s/:name opens an SSE stream the test drives. */
async function start(maxHeldChars?: number): Promise<{ port: number; streams: Map<string, Stream>; opened: (name: string) => Promise<Stream> }> {
  const streams = new Map<string, Stream>();
  const waiters = new Map<string, (s: Stream) => void>();
  const app = express();
  app.get('/s/:name', (req, res) => {
    res.status(200).set({ 'content-type': 'text/event-stream' });
    const s = { writer: new SseWriter(res, frame, maxHeldChars === undefined ? {} : { maxHeldChars }), res };
    streams.set(req.params.name, s);
    waiters.get(req.params.name)?.(s);
  });
  server = createServer(app);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const opened = (name: string) => new Promise<Stream>((r) => (streams.has(name) ? r(streams.get(name)!) : waiters.set(name, r)));
  return { port, streams, opened };
}

/** A raw client: sends the request, collects what arrives; `pause()` stops reading (the kernel buffers fill). */
function rawClient(port: number, name: string): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let got = '';
  socket.on('data', (d: string) => (got += d));
  socket.write(`GET /s/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('error', () => undefined);
  return { socket, received: () => got, closed };
}

/** The concatenated `t` of every event in an HTTP/1.1 chunked SSE body. */
function textOf(raw: string): string {
  let out = '';
  for (const m of raw.matchAll(/data: (\{"t":.*?\})\n\n/g)) out += (JSON.parse(m[1]!) as { t: string }).t;
  return out;
}

const until = async (cond: () => boolean, what: string, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('SseWriter', () => {
  it('sends the tokens of one batch in one write, the first at the end of its batch', async () => {
    const { port, opened } = await start();
    const c = rawClient(port, 'a');
    const s = await opened('a');
    for (let i = 0; i < 50; i++) s.writer.pushText(`w${i} `);
    expect(s.writer.writes).toBe(0); // nothing before the batch ends
    await Promise.resolve();
    expect(s.writer.writes).toBe(1);
    s.writer.end('data: [DONE]\n\n');
    await c.closed.catch(() => undefined);
    await until(() => c.received().includes('[DONE]'), 'the end');
    expect(textOf(c.received())).toBe(Array.from({ length: 50 }, (_, i) => `w${i} `).join(''));
    c.socket.destroy();
  });

  it('a client that stops reading has its text merged and held; the others keep streaming; in order once it reads', async () => {
    const { port, opened } = await start();
    const slow = rawClient(port, 'slow');
    const fast = rawClient(port, 'fast');
    const [s, f] = await Promise.all([opened('slow'), opened('fast')]);
    slow.socket.pause();
    const token = 'x'.repeat(200);
    let sent = 0;
    // Batches of 10 tokens until the slow one's socket is full (and then 2,000 batches more).
    let extra = 0;
    while (extra < 2000) {
      for (let k = 0; k < 10; k++) {
        s.writer.pushText(`${sent}:${token};`);
        f.writer.pushText(`${sent}:${token};`);
        sent++;
      }
      await new Promise((r) => setImmediate(r));
      if (s.writer.heldChars > 0) extra++;
      if (sent > 2_000_000) throw new Error('the slow client never filled its socket');
    }
    // The fast client got everything so far while the slow one is blocked.
    await until(() => textOf(fast.received()).length === sent * (token.length + 2) + digits(sent), 'the fast client to catch up');
    const writesWhileBlocked = s.writer.writes;
    expect(s.writer.heldChars).toBeGreaterThan(2000 * 10 * token.length); // held as text...
    expect(s.writer.heldChars).toBeLessThan(2001 * 10 * (token.length + 8) + 100); // ...without per-event framing
    // Blocked: no more writes are tried.
    for (let i = 0; i < 100; i++) s.writer.pushText('more;');
    await new Promise((r) => setImmediate(r));
    expect(s.writer.writes).toBe(writesWhileBlocked);
    s.writer.end('data: [DONE]\n\n');
    f.writer.end('data: [DONE]\n\n');
    slow.socket.resume();
    await until(() => slow.received().includes('[DONE]'), 'the slow client to get the end', 60_000);
    const expected = Array.from({ length: sent }, (_, i) => `${i}:${token};`).join('') + 'more;'.repeat(100);
    expect(textOf(slow.received())).toBe(expected);
    slow.socket.destroy();
    fast.socket.destroy();
  }, 120_000);

  it('cuts off a client that reads nothing while more than maxHeldChars piles up', async () => {
    const { port, opened } = await start(64 * 1024);
    const slow = rawClient(port, 'slow');
    const s = await opened('slow');
    slow.socket.pause();
    let closed = false;
    s.res.on('close', () => (closed = true));
    for (let i = 0; i < 1_000_000 && !closed; i++) {
      s.writer.pushText('y'.repeat(100));
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    await until(() => closed, 'the response to be destroyed');
    expect(s.writer.heldChars).toBe(0);
    slow.socket.destroy();
  }, 120_000);
});

/** Total length of the decimal numbers 0..n-1 (the token prefixes). */
function digits(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += String(i).length;
  return total;
}
