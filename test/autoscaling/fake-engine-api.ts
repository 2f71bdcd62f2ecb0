/**
 * A local stand-in for the Docker Engine API endpoints the Swarm actuator
 * uses, speaking their wire format: GET /{version}/services/{id} (by id or
 * name) and POST /{version}/services/{id}/update?version=N with the whole
 * spec. The version index grows with every accepted update (and with
 * `bump()`, as the Engine's own task-state changes do); a stale version
 * answers 500 `{"message":"rpc error: code = Unknown desc = update out of
 * sequence"}` as the Engine does. Listens on a unix socket or TCP port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeService {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Mode: { Replicated?: { Replicas: number }; Global?: Record<string, never> }; TaskTemplate: Record<string, unknown>; Labels: Record<string, string> };
}

export interface EngineCall {
  method: string;
  path: string;
  version?: number;
  body?: unknown;
}

export class FakeEngineApi {
  readonly services = new Map<string, FakeService>();
  readonly calls: EngineCall[] = [];
  /** Replica counts in the order they were accepted. */
  readonly history: number[] = [];
  /** Before answering the next N updates, bump the version as a concurrent writer would. */
  raceNextUpdates = 0;
  /** Answer every request with this status (403: a socket without the right). */
  forceStatus: number | undefined;
  private server!: Server;

  addService(name: string, replicas: number, mode: 'replicated' | 'global' = 'replicated'): FakeService {
    const s: FakeService = {
      ID: `svc${this.services.size + 1}${name.replace(/[^a-z0-9]/gi, '')}`.slice(0, 25),
      Version: { Index: 10 },
      Spec: { Name: name, Mode: mode === 'replicated' ? { Replicated: { Replicas: replicas } } : { Global: {} }, TaskTemplate: { ContainerSpec: { Image: 'taskwire:test' } }, Labels: { 'com.docker.stack.namespace': 'taskwire' } },
    };
    this.services.set(s.ID, s);
    return s;
  }

  find(idOrName: string): FakeService | undefined {
    return this.services.get(idOrName) ?? [...this.services.values()].find((s) => s.Spec.Name === idOrName);
  }

  bump(idOrName: string): void {
    this.find(idOrName)!.Version.Index++;
  }

  async listen(where: { socketPath: string } | { port: 0 }): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => ('socketPath' in where ? this.server.listen(where.socketPath, resolve) : this.server.listen(0, '127.0.0.1', resolve)));
    return 'socketPath' in where ? `unix://${where.socketPath}` : `tcp://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://docker');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'api-version': '1.41', server: 'Docker/fake (linux)' });
      res.end(JSON.stringify(body));
    };
    const call: EngineCall = { method: req.method ?? '', path: url.pathname };
    this.calls.push(call);
    if (this.forceStatus) return send(this.forceStatus, { message: 'permission denied while trying to connect to the Docker daemon socket' });
    const m = /^\/v1\.\d+\/services\/([^/]+)(\/update)?$/.exec(url.pathname);
    if (!m) return send(404, { message: 'page not found' });
    const svc = this.find(decodeURIComponent(m[1]!));
    if (!svc) return send(404, { message: `service ${m[1]} not found` });
    if (!m[2] && req.method === 'GET') return send(200, structuredClone(svc));
    if (m[2] && req.method === 'POST') {
      const v = url.searchParams.get('version');
      if (v === null || !/^\d+$/.test(v)) return send(400, { message: 'invalid service version' });
      call.version = Number(v);
      let body: FakeService['Spec'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FakeService['Spec'];
      } catch {
        return send(400, { message: 'invalid JSON' });
      }
      call.body = body;
      if (this.raceNextUpdates > 0) {
        this.raceNextUpdates--;
        svc.Version.Index++;
      }
      if (Number(v) !== svc.Version.Index) return send(500, { message: 'rpc error: code = Unknown desc = update out of sequence' });
      // The spec replaces the old one as a whole: a client that sent a partial spec would lose fields.
      if (!body.TaskTemplate || !body.Name) return send(400, { message: 'spec is missing TaskTemplate or Name' });
      svc.Spec = body;
      svc.Version.Index++;
      this.history.push(body.Mode.Replicated?.Replicas ?? -1);
      return send(200, { Warnings: null });
    }
    send(405, { message: 'method not allowed' });
  }
}
