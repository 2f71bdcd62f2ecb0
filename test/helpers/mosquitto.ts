/**
 * A real Mosquitto broker for interop and fault tests: generated config in a
 * temp dir, a free 127.0.0.1 port, TCP_NODELAY (as every config we ship),
 * anonymous access (test only), persistence off unless asked for.
 *
 *   const broker = await Mosquitto.start();
 *   ... broker.url ...
 *   await broker.restart();   // same port; retained messages survive only with persistence
 *   await broker.close();     // idempotent; also removes the temp dir
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, ProcessGroup } from './processes.js';
import { freePort } from './ports.js';

export const MOSQUITTO_BINARY = '/usr/sbin/mosquitto';
export const MOSQUITTO_SUB_BINARY = 'mosquitto_sub';
/** coreutils stdbuf: mosquitto_sub's debug lines are block-buffered on a pipe otherwise. */
const STDBUF = '/usr/bin/stdbuf';

/** True when the Debian mosquitto broker is installed (CI installs it). */
export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO_BINARY);
}

export interface MosquittoOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Keep retained messages and sessions across restart() (default false). */
  persistence?: boolean;
  /** Extra lines appended to the generated mosquitto.conf. */
  extraConfig?: string[];
  /** How long start() waits for the listener (default 10 s). */
  startTimeoutMs?: number;
  /** Echo the broker's log to stderr (debugging; default false). */
  echo?: boolean;
}

type ResolvedMosquittoOptions = Required<MosquittoOptions>;

const DEFAULTS: ResolvedMosquittoOptions = {
  host: '127.0.0.1',
  port: 0,
  persistence: false,
  extraConfig: [],
  startTimeoutMs: 10_000,
  echo: false,
};

function resolveMosquittoOptions(o: MosquittoOptions): ResolvedMosquittoOptions {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535) throw new Error(`MosquittoOptions.port: not a TCP port: ${r.port}`);
  if (!Number.isInteger(r.startTimeoutMs) || r.startTimeoutMs < 1) throw new Error(`MosquittoOptions.startTimeoutMs: must be >= 1`);
  return r;
}

export { freePort };

/** Resolves once a TCP connection to host:port succeeds (rejects on timeout). */
export async function waitForTcp(host: string, port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`process exited before ${host}:${port} accepted connections`);
    if (Date.now() > until) throw new Error(`nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type State = 'idle' | 'running' | 'stopped' | 'closed';

export class Mosquitto {
  private state: State = 'idle';
  private proc: ManagedProcess | undefined;
  private readonly processes = new ProcessGroup();
  /** Output of every run so far (restart() starts a new process). */
  private readonly previousOutput: string[] = [];

  private constructor(
    readonly options: ResolvedMosquittoOptions,
    readonly dir: string,
    public port: number,
  ) {}

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    if (!mosquittoAvailable()) throw new Error(`${MOSQUITTO_BINARY} is not installed (Debian package mosquitto)`);
    const o = resolveMosquittoOptions(options);
    const dir = await mkdtemp(join(tmpdir(), 'taskwire-mosquitto-'));
    const broker = new Mosquitto(o, dir, o.port);
    try {
      // A port picked by freePort() can be taken by someone else before mosquitto binds it: retry.
      for (let attempt = 1; ; attempt++) {
        if (o.port === 0) broker.port = await freePort(o.host);
        try {
          await broker.launch();
          break;
        } catch (err) {
          if (o.port !== 0 || attempt >= 3 || !/Address already in use/i.test(broker.output())) throw err;
        }
      }
    } catch (err) {
      await broker.close();
      throw err;
    }
    return broker;
  }

  get host(): string {
    return this.options.host;
  }

  /** mqtt://127.0.0.1:<port> */
  get url(): string {
    return `mqtt://${this.options.host}:${this.port}`;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.state === 'running' && (this.proc?.running ?? false);
  }

  /** The generated configuration. */
  config(): string {
    const o = this.options;
    const lines = [
      '# generated by test/helpers/mosquitto.ts',
      // as root, mosquitto would switch to user "mosquitto", which cannot write our temp dir
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      `listener ${this.port} ${o.host}`,
      'set_tcp_nodelay true',
      'allow_anonymous true',
      `persistence ${o.persistence ? 'true' : 'false'}`,
      ...(o.persistence ? [`persistence_location ${this.dir}/`, 'autosave_interval 1'] : []),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      ...o.extraConfig,
    ];
    return `${lines.join('\n')}\n`;
  }

  private async launch(): Promise<void> {
    if (this.proc) this.previousOutput.push(this.proc.output(5000));
    const confPath = join(this.dir, 'mosquitto.conf');
    await writeFile(confPath, this.config());
    const proc = this.processes.spawn(`mosquitto:${this.port}`, MOSQUITTO_BINARY, ['-c', confPath], { echo: this.options.echo });
    this.proc = proc;
    try {
      await waitForTcp(this.options.host, this.port, this.options.startTimeoutMs, () => proc.running);
    } catch (err) {
      await proc.stop(1000);
      throw new Error(`mosquitto did not start: ${(err as Error).message}\n--- mosquitto output ---\n${proc.output()}`);
    }
    this.state = 'running';
  }

  /** Broker log (all runs). */
  output(): string {
    return [...this.previousOutput, this.proc?.output(5000) ?? ''].join('\n');
  }

  /** Graceful stop (SIGTERM; with persistence it saves its database). */
  async stop(graceMs = 5000): Promise<void> {
    if (this.proc) await this.proc.stop(graceMs);
    if (this.state === 'running') this.state = 'stopped';
  }

  /** A broker crash: SIGKILL, no database save. */
  async kill9(): Promise<void> {
    if (this.proc?.running) await this.proc.kill9();
    if (this.state === 'running') this.state = 'stopped';
  }

  /** Starts the broker again on the same port (after stop(), kill9(), or while running: stop first). */
  async restart(): Promise<void> {
    if (this.state === 'closed') throw new Error('Mosquitto.restart() after close()');
    await this.stop();
    await this.launch();
  }

  /** Stops the broker and removes its temp dir; idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.processes.stopAll(3000);
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface SubscriberOptions {
  host: string;
  port: number;
  /** Topic filters (-t, repeatable). */
  topics: string[];
  /** -W: the subscriber exits on its own after this many seconds (default 60). */
  timeoutSeconds?: number;
  /** -C: exit after this many messages. */
  count?: number;
  /** -u / -P (e.g. the embedded broker's read-only `observer` account). */
  username?: string;
  password?: string;
  /** Client id (-i); default a unique one. */
  clientId?: string;
  /** -d: debug lines (CONNACK, SUBACK, "Subscribed (mid: 1): <granted qos>"). Default true. */
  debug?: boolean;
  /** Extra arguments. */
  extraArgs?: string[];
}

let subscriberSeq = 0;

/** Spawns the real `mosquitto_sub -v` (with -W so it always ends on its own). */
export function spawnMosquittoSub(group: ProcessGroup, name: string, o: SubscriberOptions): ManagedProcess {
  const args = ['-h', o.host, '-p', String(o.port), '-V', 'mqttv311', '-v', '-W', String(o.timeoutSeconds ?? 60)];
  args.push('-i', o.clientId ?? `sub-${process.pid}-${++subscriberSeq}-${Math.random().toString(36).slice(2, 7)}`);
  if (o.username !== undefined) args.push('-u', o.username);
  if (o.password !== undefined) args.push('-P', o.password);
  if (o.debug ?? true) args.push('-d');
  if (o.count !== undefined) args.push('-C', String(o.count));
  for (const t of o.topics) args.push('-t', t);
  args.push(...(o.extraArgs ?? []));
  return existsSync(STDBUF)
    ? group.spawn(name, STDBUF, ['-oL', MOSQUITTO_SUB_BINARY, ...args])
    : group.spawn(name, MOSQUITTO_SUB_BINARY, args);
}

/** Waits for the SUBACK line; returns the granted QoS codes (128 = refused). */
export async function waitForSuback(sub: ManagedProcess, timeoutMs = 10_000): Promise<number[]> {
  const line = await sub.waitForLine(/^Subscribed \(mid: \d+\):/, timeoutMs, 'the SUBACK');
  return line.text
    .replace(/^Subscribed \(mid: \d+\):/, '')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n));
}

export interface SubMessage {
  topic: string;
  payload: string;
  atMs: number;
}

/** The `topic payload` lines printed by `mosquitto_sub -v` (debug lines excluded). */
export function subMessages(sub: ManagedProcess, topicPrefix: string): SubMessage[] {
  const out: SubMessage[] = [];
  for (const l of sub.lines) {
    if (l.stream !== 'stdout' || !l.text.startsWith(topicPrefix)) continue;
    const i = l.text.indexOf(' ');
    out.push(i < 0 ? { topic: l.text, payload: '', atMs: l.atMs } : { topic: l.text.slice(0, i), payload: l.text.slice(i + 1), atMs: l.atMs });
  }
  return out;
}
