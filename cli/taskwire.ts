#!/usr/bin/env node
/**
 * The `taskwire` command: master, worker, start (master + local workers),
 * submit / submit-batch / get / cancel / workers against a running master, and health.
 * Flags override environment variables; a bad value exits 2 with a message
 * naming the flag or variable.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resolve as resolvePath } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, TaskwireError, errorMessage } from '../common/errors.js';
import { parseIntOption, envInt } from '../common/env.js';
import { createLogger } from '../common/logger.js';
// The master's modules are loaded only by the commands that start one: a `worker` process
// does not carry them on its heap (a smaller heap: cheaper garbage collections per image).
import type { Master } from '../master/master.js';
import type { MasterOptions } from '../master/config.js';
import { masterOptionsFromEnv } from '../master/master-options-from-env.js';
import { Worker } from '../worker/worker.js';
import { redactUrl, resolveWorkerOptions, workerOptionsFromEnv, type WorkerOptions } from '../worker/config.js';
import { LocalWorkers, watchParent } from './local-workers.js';
import { handlersFromEnv, startHandlersInBackground } from './worker-handlers.js';
import { findLocalClusterToken, isLoopbackUrl } from '../worker/local-token.js';
import { eventsCommand } from './events-command.js';
import { logsCommand } from './logs-command.js';
import { monitorCommand } from './monitor-command.js';
import { taskSearchCommands } from './task-search-commands.js';
import { usageCommand } from './usage-command.js';
import { limitsCommand } from './limits-command.js';
import { storeCommand } from './store-command.js';
import { imagesCommand } from './images-command.js';
import { operatorCommands } from './operator-commands.js';
import { adminCommands } from './admin-commands.js';
import { scalingCommands } from './scaling-commands.js';
import { localActuator } from './autoscale-local.js';
import { resolveScalingPolicy } from '../master/autoscaling/scaling-policy.js';
import { URL_HELP, addOutputOption, getCancelWorkersCommands, masterUrl, submitBatchCommand, submitCommand, wantsJson } from './client-commands.js';

const int = (name: string, min = 0, max = 65535) => (raw: string) => {
  try {
    return parseIntOption(name, raw, { min, max });
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
};

/** A second SIGINT sooner than this after the first is the same Ctrl-C delivered twice. */
const SIGINT_ECHO_MS = 1000;

function onSignals(stop: () => Promise<void>, hardDeadlineMs = 30_000): void {
  let stopping = false;
  let firstAt = 0;
  const handler = (signal: string) => {
    if (stopping) {
      // Ctrl-C reaches the whole process group, and a parent (npx, GNU
      // timeout) may forward it once more, or add SIGTERM: only a later
      // SIGINT (the user insisting) skips the graceful stop.
      if (signal !== 'SIGINT' || Date.now() - firstAt < SIGINT_ECHO_MS) return;
      process.stderr.write('\nSIGINT again: exiting now\n');
      process.exit(130);
    }
    stopping = true;
    firstAt = Date.now();
    // Whatever hangs, the process ends: a supervisor (Swarm, systemd) is waiting.
    setTimeout(() => {
      process.stderr.write(`graceful shutdown took over ${hardDeadlineMs} ms: exiting\n`);
      process.exit(1);
    }, hardDeadlineMs).unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

interface MasterFlags {
  httpPort?: number;
  grpcPort?: number;
  mqttPort?: number;
  mqttUrl?: string;
  bind?: string;
  localWorkers?: number;
  /** `start --autoscale`: local workers between --min-workers and --max-workers (docs/AUTOSCALING.md). */
  autoscale?: boolean;
  minWorkers?: number;
  maxWorkers?: number;
  dataDir?: string;
  store?: string;
}

function addMasterFlags(cmd: Command): Command {
  return cmd
    .option('--http-port <port>', 'HTTP + Socket.IO port [TASKWIRE_HTTP_PORT, 8080]', int('--http-port'))
    .option('--grpc-port <port>', 'gRPC ResultService port [TASKWIRE_GRPC_PORT, 50051]', int('--grpc-port'))
    .option('--mqtt-port <port>', 'embedded MQTT broker port [TASKWIRE_MQTT_PORT, 1883]', int('--mqtt-port'))
    .option('--mqtt-url <url>', 'external broker instead of the embedded one [TASKWIRE_MQTT_URL]')
    .option('--bind <host>', 'interface to listen on [TASKWIRE_BIND_HOST, 0.0.0.0]')
    .option('--data-dir <dir>', 'durable task store directory [TASKWIRE_DATA_DIR, ./data]')
    .option('--store <url>', 'postgres://… : the task store on PostgreSQL instead of SQLite in the data dir [TASKWIRE_STORE]');
}

/** The mosquitto_sub command an operator can paste to watch this master. */
function watchHint(master: Master): string {
  const u = new URL(master.mqttUrl);
  const base = `mosquitto_sub -v -h ${u.hostname} -p ${u.port || 1883} -t '${master.topics.everything()}'`;
  if (master.options.mqttUrl) return `${base} -u <user> -P <password>`;
  if (master.options.anonymousRead !== 'off') return base;
  return master.options.observerPassword ? `${base} -u observer -P <TASKWIRE_OBSERVER_PASSWORD>` : `${base}, after setting TASKWIRE_OBSERVER_PASSWORD or TASKWIRE_MQTT_ANONYMOUS_READ=localhost`;
}

async function runMaster(flags: MasterFlags, localWorkersDefault: number): Promise<void> {
  const env = process.env;
  const fromEnv = await masterOptionsFromEnv(env);
  // `start` is the local, single-machine setup: mosquitto_sub works there without credentials.
  fromEnv.anonymousRead ??= localWorkersDefault > 0 ? 'localhost' : 'off';
  const options: MasterOptions = {
    ...fromEnv,
    ...(flags.httpPort !== undefined && { httpPort: flags.httpPort }),
    ...(flags.grpcPort !== undefined && { grpcPort: flags.grpcPort }),
    ...(flags.mqttPort !== undefined && { mqttPort: flags.mqttPort }),
    ...(flags.mqttUrl !== undefined && { mqttUrl: flags.mqttUrl }),
    ...(flags.bind !== undefined && { bindHost: flags.bind }),
    ...(flags.store !== undefined && { store: flags.store }),
    dataDir: resolvePath(flags.dataDir ?? fromEnv.dataDir ?? 'data'),
  };
  const localCount = flags.localWorkers ?? envInt(env, 'TASKWIRE_LOCAL_WORKERS', { min: 0, max: 64 }) ?? localWorkersDefault;
  const workerEnv = (m: Master): NodeJS.ProcessEnv => ({
    ...env,
    TASKWIRE_MQTT_URL: m.options.mqttUrl ?? `mqtt://127.0.0.1:${m.broker?.port}`,
    TASKWIRE_GRPC_URL: `127.0.0.1:${m.grpcPort}`,
    ...(m.clusterToken && { TASKWIRE_CLUSTER_TOKEN: m.clusterToken }),
    // On the master's host: inputs are read from its blob directory instead of streamed over gRPC.
    ...(m.blobDir && { TASKWIRE_BLOB_DIR: m.blobDir }),
  });
  const idPrefix = `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60) || 'local'}-local`;
  // With per-worker credentials (TASKWIRE_WORKER_CREDENTIALS_FILE) the cluster token admits no
  // worker: each local worker gets a password of its own (the file's, if it lists the id; else a
  // fresh random one known only to this master and that worker).
  const localPasswords = new Map<number, string>();
  const listed = options.workerPasswords ?? {};
  if (Object.keys(listed).length > 0 && localCount > 0 && !flags.autoscale) {
    const own: Record<string, string> = {};
    for (let i = 0; i < localCount; i++) {
      const id = `${idPrefix}-${i + 1}`;
      own[id] = listed[id] ?? randomBytes(24).toString('base64url');
      localPasswords.set(i, own[id]);
    }
    options.workerPasswords = { ...listed, ...own };
  }
  let started: Master | undefined;
  const { Master } = await import('../master/master.js');
  const master = await Master.create(
    options,
    flags.autoscale ? { localActuator: localActuator({ cliPath: fileURLToPath(import.meta.url), env: () => workerEnv(started!), idPrefix: `${idPrefix}-as`, log: () => started!.log, graceMs: 10_000 }) } : {},
  );
  started = master;
  if (flags.autoscale && !master.autoscaler.policies()['*']) {
    // The flags are the start-up policy; one an operator saved at run time (data dir) wins.
    master.autoscaler.setPolicy('*', resolveScalingPolicy({ actuator: 'local', min_workers: flags.minWorkers ?? 1, max_workers: flags.maxWorkers ?? 4 }, '--autoscale'));
  }
  let workers: LocalWorkers | undefined;
  if (localCount > 0 && !flags.autoscale) {
    workers = new LocalWorkers({
      count: localCount,
      cliPath: fileURLToPath(import.meta.url),
      env: workerEnv(master),
      envFor: (i): NodeJS.ProcessEnv => {
        const password = localPasswords.get(i);
        return password ? { TASKWIRE_MQTT_USERNAME: `${idPrefix}-${i + 1}`, TASKWIRE_MQTT_PASSWORD: password } : {};
      },
      log: master.log,
      graceMs: 10_000,
      idPrefix,
    });
    workers.start();
  }
  const shown = master.options.bindHost === '0.0.0.0' || master.options.bindHost === '::' ? 'localhost' : master.options.bindHost;
  process.stdout.write(
    `\n  taskwire master is running\n` +
      `    chat:     http://${shown}:${master.httpPort}\n` +
      `    REST:     http://${shown}:${master.httpPort}/api/v1\n` +
      `    MQTT:     ${redactUrl(master.mqttUrl)}   (watch: ${watchHint(master)})\n` +
      `    gRPC:     ${shown}:${master.grpcPort}\n` +
      `    workers:  ${flags.autoscale ? `local, autoscaled ${flags.minWorkers ?? 1}..${flags.maxWorkers ?? 4} (taskwire autoscale show)` : `${localCount} local`}` +
      (master.clusterToken ? `; others join with TASKWIRE_CLUSTER_TOKEN (print it: taskwire token ${master.options.store ? '--store <url>' : `--data-dir ${master.options.dataDir}`})` : '') +
      `\n\n`,
  );
  onSignals(async () => {
    master.log.info('shutting down');
    await workers?.stop();
    await master.close();
  });
}

async function runWorker(flags: {
  master?: string;
  mqttUrl?: string;
  grpc?: string;
  capacity?: number;
  kinds?: string;
  id?: string;
  models?: string;
  executionProvider?: string;
  ocr?: boolean;
}): Promise<void> {
  const env = process.env;
  // onnxruntime's 1DS telemetry (on by default in its Linux builds) leaves an empty
  // /tmp/mat-debug-<pid>.log per process; off unless the user set the variable.
  env.ORT_DISABLE_TELEMETRY ??= '1';
  const fromEnv = await workerOptionsFromEnv(env);
  const options: WorkerOptions = {
    ...fromEnv,
    ...(flags.master !== undefined && { masterHost: flags.master }),
    ...(flags.mqttUrl !== undefined && { mqttUrl: flags.mqttUrl }),
    ...(flags.grpc !== undefined && { grpcTarget: flags.grpc }),
    ...(flags.capacity !== undefined && { capacity: flags.capacity }),
    ...(flags.kinds !== undefined && { kinds: flags.kinds.split(',').map((k) => k.trim()).filter(Boolean) }),
    ...(flags.id !== undefined && { workerId: flags.id }),
  };
  const source = options.workerId ?? 'worker';
  const logger = createLogger({ source, level: options.logLevel });
  if (options.mqttPassword === undefined && options.mqttUsername === undefined) {
    // On the master's machine: the token from the master's data dir, when this user may read it.
    const url = resolveWorkerOptions({ ...options, workerId: options.workerId ?? 'probe' }).mqttUrl;
    const dir = env.TASKWIRE_DATA_DIR ?? 'data';
    const found = isLoopbackUrl(url) ? await findLocalClusterToken(dir) : undefined;
    if (found) {
      options.mqttPassword = found.token;
      logger.logger.info({ from: found.path, mqtt: redactUrl(url) }, 'using the cluster token of the local master');
    }
  }
  const handlers = await handlersFromEnv(env, logger.logger, options.kinds, {
    modelsDir: flags.models,
    executionProvider: flags.executionProvider,
    ...(flags.ocr === false && { ocr: false }),
  });
  // The signals are ours before the worker connects: it announces ONLINE, and may be given
  // tasks, before create() returns (the health file is still being written), and a SIGTERM
  // then must hand them back like any other, not kill the process (the broker would
  // publish its Last Will and the attempts would wait out their lease).
  let worker: Worker | undefined;
  let created: Promise<Worker> | undefined;
  const grace = resolveWorkerOptions({ ...options, workerId: options.workerId ?? 'probe' }).shutdownGraceMs;
  onSignals(async () => {
    const w = worker ?? (await created?.catch(() => undefined));
    await w?.close();
  }, grace + 15_000);
  created = Worker.create(options, {
    handlers,
    logger: options.workerId ? logger : undefined,
    onFatal: (err) => {
      logger.logger.error({ code: err.code }, err.message);
      process.stderr.write(`taskwire: ${err.message}\n`);
      void (worker?.close(0) ?? Promise.resolve()).finally(() => process.exit(1));
    },
  });
  const ready = await created;
  worker = ready;
  startHandlersInBackground(handlers, ready.log);
  // A local worker of `taskwire start` ends with its master (also after kill -9).
  watchParent(env, (why) => {
    ready.log.warn({ reason: why }, 'local worker exiting: its master is gone');
    setTimeout(() => process.exit(1), 5000).unref();
    void ready.close(0).finally(() => process.exit(0));
  });
}

async function health(opts: { url?: string; file?: string; maxAgeMs: number; json: boolean }): Promise<void> {
  if (opts.file) {
    const s = await stat(opts.file).catch(() => undefined);
    if (!s) throw new TaskwireError('UNAVAILABLE', `no health file at ${opts.file}`);
    const body = JSON.parse(await readFile(opts.file, 'utf8')) as { state?: string; mqtt?: boolean; ts_ms?: number };
    const age = Date.now() - Number(body.ts_ms ?? 0);
    if (age > opts.maxAgeMs) throw new TaskwireError('UNAVAILABLE', `health file is ${age} ms old`);
    if (!body.mqtt) throw new TaskwireError('UNAVAILABLE', 'worker is not connected to the broker');
    process.stdout.write(opts.json ? `${JSON.stringify({ ok: true, ...body })}\n` : `ok: worker ${body.state}\n`);
    return;
  }
  const url = masterUrl(opts.url);
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) }).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new TaskwireError('UNAVAILABLE', `cannot reach the master at ${url} (${cause?.code ?? errorMessage(err)}); point the CLI at it with --url or TASKWIRE_URL (or TASKWIRE_HTTP_PORT)`);
  });
  const body = await res.text();
  if (!res.ok) throw new TaskwireError('UNAVAILABLE', `master at ${url} unhealthy (${res.status}): ${body}`);
  process.stdout.write(opts.json ? `${body}\n` : `ok: ${body}\n`);
}

export function buildProgram(): Command {
  const program = new Command('taskwire').description('Distributed task system for AI work').version('0.1.0').showHelpAfterError();
  addMasterFlags(program.command('master').description('run the master (embedded broker unless --mqtt-url)'))
    .option('--local-workers <n>', 'also run N local worker processes [TASKWIRE_LOCAL_WORKERS, 0]', int('--local-workers', 0, 64))
    .action((flags: MasterFlags) => runMaster(flags, 0));
  addMasterFlags(program.command('start').description('master + local workers: the whole system on this machine'))
    .option('--local-workers <n>', 'local worker processes [TASKWIRE_LOCAL_WORKERS, 2]', int('--local-workers', 0, 64))
    .option('--autoscale', 'scale the local workers with the load instead (docs/AUTOSCALING.md)')
    .option('--min-workers <n>', 'with --autoscale: fewest local workers (0: scale to zero) [1]', int('--min-workers', 0, 64))
    .option('--max-workers <n>', 'with --autoscale: most local workers [4]', int('--max-workers', 1, 64))
    .action((flags: MasterFlags) => runMaster(flags, 2));
  program
    .command('worker')
    .description('run a worker that joins the cluster on its own')
    .option('--master <host[:port]>', 'master host and MQTT port (port default TASKWIRE_MQTT_PORT, else 1883; gRPC as the master advertises) [TASKWIRE_MASTER, 127.0.0.1]')
    .option('--mqtt-url <url>', 'broker URL (mqtt://[user:pass@]host:port), overrides --master for MQTT [TASKWIRE_MQTT_URL]')
    .option('--grpc <host:port>', 'ResultService address [TASKWIRE_GRPC_URL, from the master]')
    .option('--capacity <n>', 'tasks at once [TASKWIRE_WORKER_CAPACITY, 8]', int('--capacity', 1, 10_000))
    .option('--kinds <list>', 'only these kinds, comma-separated [TASKWIRE_WORKER_KINDS]')
    .option('--id <id>', 'worker id [TASKWIRE_WORKER_ID]')
    .option('--models <dir>', 'ONNX model repository [TASKWIRE_MODELS_DIR, ./models]')
    .option('--execution-provider <ep>', 'cpu, cuda or auto [TASKWIRE_EXECUTION_PROVIDER, auto]')
    .option('--no-ocr', 'do not load the PP-OCR models [TASKWIRE_OCR=false]')
    .action(runWorker);
  submitCommand(program);
  submitBatchCommand(program);
  getCancelWorkersCommands(program);
  operatorCommands(program); // cluster, tasks; `workers` becomes a group (bare form still lists)
  adminCommands(program); // tenants, users, API keys
  scalingCommands(program); // placement, autoscale
  eventsCommand(program);
  logsCommand(program);
  monitorCommand(program);
  taskSearchCommands(program); // tasks search | export, on the group operatorCommands made
  usageCommand(program);
  limitsCommand(program);
  storeCommand(program); // store migrate (SQLite -> PostgreSQL)
  imagesCommand(program);
  program
    .command('token')
    .description("print the cluster token workers need to join this master's embedded broker")
    .option('--data-dir <dir>', 'the master\'s data directory [TASKWIRE_DATA_DIR, ./data]')
    .option('--store <url>', "the master's PostgreSQL store instead [TASKWIRE_STORE]")
    .action(async (o: { dataDir?: string; store?: string }) => {
      const { SqliteTaskStore } = await import('../master/store/sqlite-task-store.js');
      const { PostgresTaskStore } = await import('../master/store/postgres-task-store.js');
      const { join } = await import('node:path');
      const url = o.store ?? process.env.TASKWIRE_STORE;
      const dir = url ? 'the PostgreSQL store' : resolvePath(o.dataDir ?? process.env.TASKWIRE_DATA_DIR ?? 'data');
      let token: string | undefined;
      if (url) token = await PostgresTaskStore.readMeta(url, 'cluster_token'); // no store: the running master holds the database
      else {
        const store = new SqliteTaskStore({ path: join(dir, 'taskwire.db') });
        token = store.getMeta('cluster_token');
        await store.close();
      }
      if (!token) throw new TaskwireError('NOT_FOUND', `no cluster token in ${dir} (start the master once, or set TASKWIRE_CLUSTER_TOKEN)`);
      process.stdout.write(`${token}\n`);
    });
  addOutputOption(
    program
      .command('health')
      .description('exit 0 when healthy: the master (HTTP /healthz) or, with --file, a worker')
      .option('--url <url>', URL_HELP)
      .option('--file <path>', "a worker's health file [TASKWIRE_HEALTH_FILE]")
      .addOption(new Option('--max-age-ms <ms>', 'oldest acceptable health file').default(30_000).argParser(int('--max-age-ms', 1000, 3_600_000))),
  ).action((o: { url?: string; file?: string; maxAgeMs: number; json?: boolean; output?: string }) =>
    health({ ...o, json: wantsJson(o), file: o.file ?? (o.url ? undefined : process.env.TASKWIRE_HEALTH_FILE) }),
  );
  return program;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (isMain) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      const msg = err instanceof ConfigError ? `configuration error: ${err.message}` : errorMessage(err);
      process.stderr.write(`taskwire: ${msg}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    });
}
