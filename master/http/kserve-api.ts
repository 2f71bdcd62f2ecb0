/**
 * KServe v2 / Triton REST protocol on the master, so existing KServe and
 * Triton HTTP clients can call the cluster's ONNX models:
 *
 *   GET  /v2                                     server metadata
 *   GET  /v2/health/live | /v2/health/ready
 *   GET  /v2/models/{name}[/versions/{v}]        model metadata
 *   GET  /v2/models/{name}[/versions/{v}]/ready
 *   POST /v2/models/{name}[/versions/{v}]/infer  {inputs:[{name, shape, datatype, data}], outputs?}
 *
 * Errors are `{"error": "<message>"}` as the protocol says, with 400 (bad
 * request or tensors), 404 (unknown model/version), 413 (body too large),
 * 503 (not ready / no worker), 504 (deadline) or 500. The router depends only
 * on KserveBackend, which the master implements on its task path (an `infer`
 * task per request, scheduled to a worker with the model ready).
 */
import { json, Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { formatSchemaIssue } from '../../common/schema-issue.js';
import {
  kserveInferRequest,
  type InferOutput,
  type KserveInferRequest,
  type KserveModelMetadata,
  type KserveTensorMetadata,
} from '../../common/kinds/inference.js';

/** A model as the cluster advertises it (merged over workers). */
export interface KserveModel {
  name: string;
  versions: string[];
  /** Some worker has it ready. */
  ready: boolean;
  /** Default "onnxruntime_onnx". */
  platform?: string;
  /** Tensor metadata when known (workers know it; ModelInfo does not carry it). */
  inputs?: KserveTensorMetadata[];
  outputs?: KserveTensorMetadata[];
}

/** What the router needs from the master. */
export interface KserveBackend {
  /** The server can take inference requests (e.g. the master is up and accepting tasks). */
  ready(): boolean;
  /** Models of kind `infer` that workers advertise. */
  models(): KserveModel[];
  /**
   * Runs one request as an `infer` task and resolves with its output. Rejects
   * with an error whose `code` is a TaskFailure code (BAD_INPUT,
   * MODEL_NOT_FOUND, ...) or a taskwire ErrorCode (BAD_REQUEST, UNAVAILABLE, ...).
   * `signal` fires when the client goes away (cancel the task).
   */
  infer(name: string, version: string | undefined, request: KserveInferRequest, signal: AbortSignal, caller?: KserveCaller): Promise<InferOutput>;
  /** Optional: metadata with tensor shapes from a worker, when models() has none. */
  metadata?(name: string, version: string | undefined, caller?: KserveCaller): Promise<KserveModelMetadata | undefined>;
}

/** Who asks (the principal's key id and tenant): limits and usage are charged to it. */
export interface KserveCaller {
  owner?: string;
  tenant?: string;
}

const callerOf = (res: Response): KserveCaller => {
  const p = res.locals['principal'] as { id?: string; tenant?: string } | undefined;
  return { owner: p?.id, tenant: p?.tenant };
};

export interface KserveApiOptions {
  /** Largest infer request body (default 8 MiB; an `infer` task must also fit the 4 MiB MQTT limit as JSON). */
  maxBodyBytes?: number;
  /** Reported by GET /v2 (default "taskwire"). */
  serverName?: string;
  serverVersion?: string;
}

export interface ResolvedKserveApiOptions {
  maxBodyBytes: number;
  serverName: string;
  serverVersion: string;
}

export const KSERVE_API_DEFAULTS: ResolvedKserveApiOptions = {
  maxBodyBytes: 8 * 1024 * 1024,
  serverName: 'taskwire',
  serverVersion: '0.1.0',
};

export function resolveKserveApiOptions(o: KserveApiOptions = {}): ResolvedKserveApiOptions {
  const maxBodyBytes = o.maxBodyBytes ?? KSERVE_API_DEFAULTS.maxBodyBytes;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) throw new RangeError(`maxBodyBytes must be an integer >= 1024, got ${maxBodyBytes}`);
  return {
    maxBodyBytes,
    serverName: o.serverName ?? KSERVE_API_DEFAULTS.serverName,
    serverVersion: o.serverVersion ?? KSERVE_API_DEFAULTS.serverVersion,
  };
}

/** HTTP status of an error `code` (TaskFailure codes and taskwire ErrorCodes). */
export const KSERVE_STATUS: Readonly<Record<string, number>> = {
  BAD_INPUT: 400,
  BAD_REQUEST: 400,
  PROTOCOL: 400,
  UNSUPPORTED: 400,
  FORBIDDEN: 403, // a key's allow-list of kinds / models (master/tenancy)
  MODEL_NOT_FOUND: 404,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  CLOSED: 503,
  CANCELLED: 503,
  DEADLINE_EXCEEDED: 504,
  INFERENCE_ERROR: 500,
  INTERNAL: 500,
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const VERSION = /^[1-9][0-9]{0,8}$/;

function sendError(res: Response, status: number, message: string): void {
  res.status(status).json({ error: message });
}

function sendFailure(res: Response, err: unknown): void {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  const status = code !== undefined ? KSERVE_STATUS[code] : undefined;
  const headers = (err as { headers?: unknown })?.headers;
  if (status === 429 && headers && typeof headers === 'object') res.set(headers as Record<string, string>);
  if (status !== undefined) sendError(res, status, (err as Error).message);
  else sendError(res, 500, 'internal error');
}

const bodyErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  if (res.headersSent) return next(err);
  if (e.type === 'entity.too.large') sendError(res, 413, `request body is over ${e.limit} bytes`);
  else if (e.type === 'entity.parse.failed') sendError(res, 400, `request body is not valid JSON: ${e.message ?? ''}`);
  else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) sendError(res, e.status, e.message ?? 'bad request');
  else sendError(res, 500, 'internal error');
};

export function createKserveApi(backend: KserveBackend, options: KserveApiOptions = {}): Router {
  const o = resolveKserveApiOptions(options);
  const router = Router();

  /** Resolves path params to a known model (and version), or answers 400/404 itself. */
  const lookup = (req: Request, res: Response): { model: KserveModel; version: string | undefined } | undefined => {
    const name = String(req.params['name'] ?? '');
    const version = req.params['version'] === undefined ? undefined : String(req.params['version']);
    if (!NAME.test(name)) {
      sendError(res, 400, `invalid model name "${name}"`);
      return undefined;
    }
    if (version !== undefined && !VERSION.test(version)) {
      sendError(res, 400, `invalid model version "${version}" (a positive integer)`);
      return undefined;
    }
    const model = backend.models().find((m) => m.name === name);
    if (!model) {
      sendError(res, 404, `unknown model "${name}"`);
      return undefined;
    }
    if (version !== undefined && !model.versions.includes(version)) {
      sendError(res, 404, `model "${name}" has no version ${version} (has ${model.versions.join(', ') || 'none'})`);
      return undefined;
    }
    return { model, version };
  };

  router.get('/v2', (_req, res) => {
    res.json({ name: o.serverName, version: o.serverVersion, extensions: [] });
  });
  router.get('/v2/health/live', (_req, res) => {
    res.json({ live: true });
  });
  router.get('/v2/health/ready', (_req, res) => {
    const ready = backend.ready();
    res.status(ready ? 200 : 503).json({ ready });
  });

  const ready = (req: Request, res: Response): void => {
    const found = lookup(req, res);
    if (!found) return;
    const isReady = found.model.ready && backend.ready();
    res.status(isReady ? 200 : 503).json({ name: found.model.name, ...(found.version ? { version: found.version } : {}), ready: isReady });
  };
  router.get('/v2/models/:name/ready', ready);
  router.get('/v2/models/:name/versions/:version/ready', ready);

  const metadata = async (req: Request, res: Response): Promise<void> => {
    const found = lookup(req, res);
    if (!found) return;
    const { model, version } = found;
    try {
      const fetched = model.inputs === undefined && backend.metadata ? await backend.metadata(model.name, version, callerOf(res)) : undefined;
      const body: KserveModelMetadata = fetched ?? {
        name: model.name,
        versions: version !== undefined ? [version] : model.versions,
        platform: model.platform ?? 'onnxruntime_onnx',
        inputs: model.inputs ?? [],
        outputs: model.outputs ?? [],
      };
      res.json(body);
    } catch (err) {
      sendFailure(res, err);
    }
  };
  router.get('/v2/models/:name', metadata);
  router.get('/v2/models/:name/versions/:version', metadata);

  // Triton clients send JSON with no Content-Type or curl's form type: parse
  // JSON whatever the type says, unless it is the binary tensor extension.
  const binary: RequestHandler = (req, res, next) => {
    if (req.headers['inference-header-content-length'] !== undefined) {
      sendError(res, 400, 'the binary tensor extension is not supported (send JSON tensors)');
      return;
    }
    next();
  };
  const parse = json({ limit: o.maxBodyBytes, strict: true, type: () => true });
  const infer = async (req: Request, res: Response): Promise<void> => {
    const found = lookup(req, res);
    if (!found) return;
    if (!found.model.ready) {
      sendError(res, 503, `model "${found.model.name}" is not ready on any worker`);
      return;
    }
    const parsed = kserveInferRequest.safeParse(req.body);
    if (!parsed.success) {
      sendError(res, 400, formatSchemaIssue(parsed.error));
      return;
    }
    const ac = new AbortController();
    const onClose = (): void => {
      if (!res.writableEnded) ac.abort(new Error('client went away'));
    };
    res.on('close', onClose);
    try {
      const out = await backend.infer(found.model.name, found.version, parsed.data, ac.signal, callerOf(res));
      if (!res.headersSent) res.json(out);
    } catch (err) {
      if (!res.headersSent && !ac.signal.aborted) sendFailure(res, err);
    } finally {
      res.off('close', onClose);
    }
  };
  router.post('/v2/models/:name/infer', binary, parse, infer);
  router.post('/v2/models/:name/versions/:version/infer', binary, parse, infer);
  // Every /v2 answer is {"error": "<message>"}, unknown routes and bad paths included.
  router.use('/v2', (req, res) => sendError(res, 404, `no such route: ${req.method} ${req.originalUrl.slice(0, 200)}`));
  router.use('/v2', bodyErrors);
  return router;
}
