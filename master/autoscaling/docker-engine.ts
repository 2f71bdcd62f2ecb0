/**
 * The two Docker Engine API calls the Swarm actuator makes, over a unix
 * socket or TCP (as `DOCKER_HOST` names them: `unix:///var/run/docker.sock`,
 * `tcp://127.0.0.1:2375`):
 *
 *   GET  /v1.41/services/{id}                      → { ID, Version: { Index }, Spec: { Mode: { Replicated: { Replicas } } } }
 *   POST /v1.41/services/{id}/update?version=N     body: the whole Spec (with Replicas changed) → { Warnings }
 *
 * Errors come back as `{ "message": ... }`; a stale `version` is a 500 with
 * "update out of sequence" (the Engine's own words, moby#30794), which the
 * actuator answers by reading the service again.
 */
import { request } from 'node:http';
import { z } from 'zod';
import { ActuatorError } from './scaling-actuator.js';

export interface EngineEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

/** Parses a DOCKER_HOST-style address (unix:// or tcp://; TLS is not supported: put the Engine behind a local socket). */
export function parseDockerHost(value: string): EngineEndpoint {
  if (value.startsWith('unix://')) return { socketPath: value.slice('unix://'.length) };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(value);
  if (m) return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new ActuatorError(`TASKWIRE_DOCKER_HOST: expected unix:///path/docker.sock or tcp://host:port, got "${value.slice(0, 80)}"`);
}

const serviceSchema = z
  .object({
    ID: z.string(),
    Version: z.object({ Index: z.number().int().nonnegative() }).passthrough(),
    Spec: z
      .object({
        Name: z.string().optional(),
        Mode: z.object({ Replicated: z.object({ Replicas: z.number().int().nonnegative().optional() }).passthrough().optional() }).passthrough(),
      })
      .passthrough(),
  })
  .passthrough();
export type EngineService = z.infer<typeof serviceSchema>;

const MAX_BODY = 4 * 1024 * 1024;

export class DockerEngine {
  constructor(
    private readonly endpoint: EngineEndpoint,
    private readonly apiVersion = 'v1.41',
    private readonly timeoutMs = 10_000,
  ) {}

  async inspectService(id: string): Promise<EngineService> {
    const { status, body } = await this.call('GET', `/services/${encodeURIComponent(id)}`);
    if (status !== 200) throw engineError(status, body, `inspect service ${id}`);
    const parsed = serviceSchema.safeParse(body);
    if (!parsed.success) throw new ActuatorError(`inspect service ${id}: unexpected answer from the Docker Engine (${parsed.error.issues[0]?.path.join('.')})`);
    return parsed.data;
  }

  /** Updates the service's spec at `version`; `conflict: true` when the version was stale. */
  async updateService(id: string, version: number, spec: unknown): Promise<{ conflict: boolean }> {
    const { status, body } = await this.call('POST', `/services/${encodeURIComponent(id)}/update?version=${version}`, spec);
    if (status === 200) return { conflict: false };
    if (isOutOfSequence(status, body)) return { conflict: true };
    throw engineError(status, body, `update service ${id}`);
  }

  private call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.endpoint,
          method,
          path: `/${this.apiVersion}${path}`,
          headers: { host: 'docker', accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const parts: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) {
              req.destroy(new ActuatorError('the Docker Engine answer is too large'));
              return;
            }
            parts.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            let json: unknown = text;
            try {
              json = text ? JSON.parse(text) : null;
            } catch {
              /* keep the text */
            }
            resolve({ status: res.statusCode ?? 0, body: json });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new ActuatorError(`the Docker Engine did not answer ${method} ${path} within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof ActuatorError ? err : new ActuatorError(`Docker Engine ${method} ${path}: ${err.message}`)));
      req.end(payload);
    });
  }
}

function messageOf(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message.slice(0, 300);
  return typeof body === 'string' ? body.slice(0, 300) : '';
}

function isOutOfSequence(status: number, body: unknown): boolean {
  return (status === 500 || status === 409) && /out of sequence/i.test(messageOf(body));
}

function engineError(status: number, body: unknown, what: string): ActuatorError {
  const hint = status === 403 || status === 401 ? ' (the master needs the Docker socket of a Swarm manager: see docs/AUTOSCALING.md)' : '';
  return new ActuatorError(`${what}: Docker Engine answered ${status}${messageOf(body) ? `: ${messageOf(body)}` : ''}${hint}`, status);
}
