/**
 * A local HTTP server on 127.0.0.1:0 for provider contract tests: each test
 * supplies the route handler that speaks the provider's wire format, and the
 * server records every request (method, path, headers, JSON body) and notices
 * when a client closes a request before the response ended.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type FakeRoute = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface FakeHttpServer {
  url: string;
  requests: RecordedRequest[];
  /** Resolves when a response is closed by the client before it ended. */
  clientAborted(): Promise<void>;
  abortedCount(): number;
  close(): Promise<void>;
}

export async function startFakeServer(route: FakeRoute): Promise<FakeHttpServer> {
  const requests: RecordedRequest[] = [];
  let aborted = 0;
  const abortWaiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // keep the raw text
      }
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) {
          aborted += 1;
          for (const w of abortWaiters.splice(0)) w();
        }
      });
      Promise.resolve(route(rec, res)).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    clientAborted: () => (aborted > 0 ? Promise.resolve() : new Promise((resolve) => abortWaiters.push(resolve))),
    abortedCount: () => aborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes SSE `data:` events; `end` closes the response afterwards. */
export function writeSse(res: ServerResponse, events: (unknown | string)[], options: { end?: boolean } = {}): void {
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) res.write(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`);
  if (options.end !== false) res.end();
}

export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A port with nothing listening (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
