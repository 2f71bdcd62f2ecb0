#!/usr/bin/env node
/**
 * End-to-end check of a running taskwire master, used by scripts/verify.sh
 * (in the stack: from the host, or from a container on the stack's network)
 * and by test/deploy/stack-rehearsal.test.ts. Plain Node >= 20, no dependencies.
 *
 *   node scripts/verify-e2e.mjs --endpoint http://127.0.0.1:8080 [--api-key K]
 *        [--min-workers N] [--timeout-ms MS] [--kind echo]
 *
 * The API key may also come from $TASKWIRE_API_KEY (kept out of `ps`).
 * Checks, in order, each until the deadline: GET /healthz answers 200 "ok";
 * GET /api/v1/workers lists at least N online workers that run `echo`; an `echo`
 * task submitted with POST /api/v1/tasks succeeds with its text in the result.
 * Exit code 0: all passed; 1: a check failed; 2: bad arguments.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const USAGE = `Usage: verify-e2e.mjs --endpoint URL [--api-key KEY] [--api-key-file FILE]
                     [--min-workers N] [--timeout-ms MS] [--quiet]`;

class CheckFailed extends Error {}

function fail(message) {
  throw new CheckFailed(message);
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      endpoint: { type: 'string' },
      'api-key': { type: 'string' },
      'api-key-file': { type: 'string' },
      'min-workers': { type: 'string', default: '1' },
      'timeout-ms': { type: 'string', default: '60000' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return { help: true };
  if (!values.endpoint) throw new TypeError('--endpoint is required');
  let endpoint;
  try {
    endpoint = new URL(values.endpoint);
  } catch {
    throw new TypeError(`--endpoint: not a URL: ${values.endpoint}`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new TypeError('--endpoint must be http(s)://');
  const minWorkers = Number(values['min-workers']);
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(minWorkers) || minWorkers < 0) throw new TypeError('--min-workers: expected an integer >= 0');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('--timeout-ms: expected a positive integer');
  return {
    help: false,
    endpoint: endpoint.href.replace(/\/+$/, ''),
    apiKey: values['api-key'],
    apiKeyFile: values['api-key-file'],
    minWorkers,
    timeoutMs,
    quiet: values.quiet,
  };
}

async function readApiKey(opts) {
  if (opts.apiKey) return opts.apiKey;
  if (process.env.TASKWIRE_API_KEY) return process.env.TASKWIRE_API_KEY;
  if (!opts.apiKeyFile) return undefined;
  const { readFile } = await import('node:fs/promises');
  const first = (await readFile(opts.apiKeyFile, 'utf8')).split('\n').map((l) => l.trim()).find(Boolean);
  return first;
}

function client(endpoint, apiKey, deadline) {
  return async function request(method, path, body) {
    const remaining = Math.max(1, deadline - Date.now());
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const res = await fetch(`${endpoint}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(Math.min(remaining, 10_000)),
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
}

/** Retries `attempt` (which returns a value or throws) until it passes or the deadline. */
async function until(deadline, what, attempt) {
  let last = 'not tried';
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) fail(`${what}: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function verify(opts, log = console.log) {
  const deadline = Date.now() + opts.timeoutMs;
  const request = client(opts.endpoint, await readApiKey(opts), deadline);

  const health = await until(deadline, 'master healthy (GET /healthz)', async () => {
    const r = await request('GET', '/healthz');
    if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.text.slice(0, 200)}`);
    return r.json;
  });
  log(`ok   master healthy: ${JSON.stringify(health)}`);

  const workers = await until(deadline, `at least ${opts.minWorkers} online worker(s) running echo`, async () => {
    const r = await request('GET', '/api/v1/workers');
    if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.text.slice(0, 200)}`);
    const list = isObject(r.json) && Array.isArray(r.json.workers) ? r.json.workers : undefined;
    if (!list) throw new Error(`unexpected body ${r.text.slice(0, 200)}`);
    const online = list.filter((w) => isObject(w) && w.state === 'online' && Array.isArray(w.kinds) && w.kinds.includes('echo'));
    if (online.length < opts.minWorkers) throw new Error(`${online.length} online: ${online.map((w) => w.id).join(', ')}`);
    return online;
  });
  log(`ok   ${workers.length} worker(s) registered: ${workers.map((w) => `${w.id} (${w.language})`).join(', ')}`);

  const text = `verify ${randomBytes(6).toString('hex')}`;
  const submitted = await until(deadline, 'echo task accepted (POST /api/v1/tasks)', async () => {
    const r = await request('POST', '/api/v1/tasks', { kind: 'echo', input: { text } });
    if (r.status !== 202 && r.status !== 200) throw new Error(`HTTP ${r.status} ${r.text.slice(0, 200)}`);
    if (!isObject(r.json) || typeof r.json.id !== 'string') throw new Error(`no task id in ${r.text.slice(0, 200)}`);
    return r.json;
  });
  const task = await until(deadline, `echo task ${submitted.id} answered`, async () => {
    const r = await request('GET', `/api/v1/tasks/${encodeURIComponent(submitted.id)}`);
    if (r.status !== 200 || !isObject(r.json)) throw new Error(`HTTP ${r.status} ${r.text.slice(0, 200)}`);
    const t = r.json;
    if (!['succeeded', 'failed', 'cancelled', 'expired'].includes(t.status)) throw new Error(`status ${t.status}`);
    return t;
  });
  const t = task;
  if (t.status !== 'succeeded') fail(`echo task ${t.id} ended ${t.status}: ${JSON.stringify(t.error)}`);
  if (!JSON.stringify(t.result).includes(text)) fail(`echo task ${t.id} answered ${JSON.stringify(t.result)}, not "${text}"`);
  const timings = isObject(t.timings) ? t.timings : {};
  log(
    `ok   echo task ${t.id} answered by ${t.worker_id} (${t.worker_language}), ` +
      `queue wait ${timings.queue_wait_ms} ms, processing ${timings.processing_ms} ms`,
  );
  return { health, workers, task: t };
}

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`verify-e2e: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    await verify(opts, opts.quiet ? () => {} : console.log);
    if (!opts.quiet) console.log('verify-e2e: all checks passed');
    return 0;
  } catch (err) {
    console.error(`FAIL ${err instanceof CheckFailed ? err.message : err instanceof Error ? err.stack : String(err)}`);
    return 1;
  }
}

process.exitCode = await main();
