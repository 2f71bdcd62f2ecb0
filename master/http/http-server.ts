/**
 * The master's HTTP server: REST API, health, metrics, the web UI (static
 * files from dist/web) and the Socket.IO endpoint on one port.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import express, { type Express, type Router } from 'express';
import { authenticateHttp } from './auth/http-auth.js';
import { DEFAULT_OPEN_ROUTES } from './auth/open-routes.js';
import { Authenticator } from './auth/principal.js';
import { errorMiddleware } from './http-errors.js';
import { securityHeaders } from './security-headers.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Directory with index.html and assets; skipped when missing. */
  webDir: string;
  maxBodyBytes: number;
  routes: { path: string; router: Router }[];
  /** Mounted before the JSON body parser (routers that parse bodies themselves). */
  preRoutes?: { path: string; router: Router }[];
  /** Resolves every request's caller (default: no keys, everyone local). */
  auth?: Authenticator;
  /** Routes answered without a key when keys are configured (default DEFAULT_OPEN_ROUTES). */
  openRoutes?: readonly string[];
}

export class HttpServer {
  private closed = false;
  private constructor(
    readonly app: Express,
    readonly server: Server,
  ) {}

  /** Creates the app and server without listening (Socket.IO attaches first). */
  static create(options: HttpServerOptions): HttpServer {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use(securityHeaders());
    app.use(authenticateHttp(options.auth ?? new Authenticator(), new Set(options.openRoutes ?? DEFAULT_OPEN_ROUTES)));
    for (const { path, router } of options.preRoutes ?? []) app.use(path, router);
    app.use(express.json({ limit: options.maxBodyBytes }));
    for (const { path, router } of options.routes) app.use(path, router);
    if (options.webDir && existsSync(join(options.webDir, 'index.html'))) {
      app.use(express.static(options.webDir, { index: 'index.html', maxAge: '1h', setHeaders: noCacheHtml }));
    } else {
      app.get('/', (_req, res) => {
        res.type('text/plain').send('taskwire master: the web UI is not built (run `npm run build`). REST API at /api/v1.\n');
      });
    }
    app.use((_req, res) => {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    });
    app.use(errorMiddleware);
    const server = createServer(app);
    server.keepAliveTimeout = 65_000;
    return new HttpServer(app, server);
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function noCacheHtml(res: { setHeader(name: string, value: string): void }, path: string): void {
  if (path.endsWith('.html')) res.setHeader('Cache-Control', 'no-cache');
}
