/**
 * Real child processes for end-to-end and interop tests: `node dist/cli/taskwire.js ...`
 * and external binaries (mosquitto, mosquitto_sub). Output is captured line by
 * line; readiness is a log line or an HTTP probe; teardown is SIGTERM with a
 * SIGKILL fallback, and `kill9()` simulates a crash.
 *
 * Every process is spawned in its own process group and registered globally:
 * `ProcessGroup.stopAll()` (call it in afterAll/afterEach) stops the ones a test
 * file started, and `exit`/SIGINT/SIGTERM/SIGHUP hooks SIGKILL whatever is still
 * alive if the test runner goes away first. (A SIGKILLed runner cannot clean up:
 * mosquitto_sub is always spawned with -W so at least it ends on its own.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI (`npm run build` writes it). */
export const TASKWIRE_CLI = join(REPO_ROOT, 'dist', 'cli', 'taskwire.js');

export interface SpawnOptions {
  /** Added to a minimal copy of process.env (PATH, HOME, NODE_*). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Lines kept per process (oldest dropped first); default 5000. */
  maxLines?: number;
  /** Echo output to the test's stderr as it arrives (debugging); default false. */
  echo?: boolean;
}

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
  atMs: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type Listener = (line: OutputLine) => void;

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const p of live) p.killGroupSync('SIGKILL');
  };
  process.on('exit', killAll);
  // Children run in their own process groups, so Ctrl-C on the runner does not reach them:
  // forward the end of the runner, then let the signal take its usual course.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      process.off(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Env for children: only what a process needs to run, never the test runner's secrets. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS', 'NODE_PATH']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly lines: OutputLine[] = [];
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly maxLines: number;
  private stopping: Promise<ExitInfo> | undefined;

  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: readonly string[],
    options: SpawnOptions = {},
  ) {
    this.maxLines = options.maxLines ?? 5000;
    const env: Record<string, string> = baseEnv();
    for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
    this.child = spawn(command, [...args], { cwd: options.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    installExitHook();
    live.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (err) => {
        this.push('stderr', `[spawn error] ${err.message}`, options.echo);
        this.exit ??= { code: -1, signal: null };
        live.delete(this);
        resolve(this.exit);
      });
      this.child.once('exit', (code, signal) => {
        this.exit ??= { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      const s = this.child[stream];
      s?.setEncoding('utf8');
      s?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const text of parts) this.push(stream, text, options.echo);
      });
      s?.on('end', () => {
        if (partial) this.push(stream, partial, options.echo);
        partial = '';
      });
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }

  private push(stream: OutputLine['stream'], text: string, echo?: boolean): void {
    const line: OutputLine = { stream, text, atMs: Date.now() };
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.shift();
    if (echo) process.stderr.write(`[${this.name}] ${text}\n`);
    for (const l of this.listeners) l(line);
  }

  /** All captured output, one string (for failure messages). */
  output(lastLines = 200): string {
    return this.lines
      .slice(-lastLines)
      .map((l) => `${l.stream === 'stderr' ? '!' : ' '} ${l.text}`)
      .join('\n');
  }

  /** Resolves with the first line (seen so far or later) that matches; rejects on timeout or exit. */
  waitForLine(match: RegExp | ((text: string) => boolean), timeoutMs = 15_000, what?: string): Promise<OutputLine> {
    const test = typeof match === 'function' ? match : (t: string) => match.test(t);
    const seen = this.lines.find((l) => test(l.text));
    if (seen) return Promise.resolve(seen);
    const label = what ?? String(match);
    return new Promise<OutputLine>((resolve, reject) => {
      const done = (err: Error | undefined, line?: OutputLine) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (err) reject(err);
        else resolve(line!);
      };
      const listener: Listener = (line) => {
        if (test(line.text)) done(undefined, line);
      };
      const timer = setTimeout(
        () => done(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${label}\n--- output ---\n${this.output()}`)),
        timeoutMs,
      );
      this.listeners.add(listener);
      void this.exited.then((e) =>
        // let buffered output arrive first
        setImmediate(() => done(new Error(`${this.name} exited (code ${e.code}, signal ${e.signal}) before ${label}\n--- output ---\n${this.output()}`))),
      );
    });
  }

  /** Lines that arrived so far and match. */
  matching(match: RegExp | ((text: string) => boolean)): OutputLine[] {
    const test = typeof match === 'function' ? match : (t: string) => match.test(t);
    return this.lines.filter((l) => test(l.text));
  }

  /** Resolves when the process has exited; rejects after timeoutMs. */
  async waitForExit(timeoutMs = 15_000): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms\n--- output ---\n${this.output()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal to the main process only (no-op once it exited). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /** A crash: SIGKILL to the main process only (its children, if any, are left to their fate until teardown). */
  async kill9(timeoutMs = 5000): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.waitForExit(timeoutMs);
  }

  /** Signals the whole process group, synchronously; errors ignored. */
  killGroupSync(sig: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // group already gone
    }
  }

  /**
   * Graceful stop: SIGTERM, then SIGKILL to the whole process group after
   * graceMs. Idempotent; always resolves with how the process ended.
   */
  stop(graceMs = 5000): Promise<ExitInfo> {
    this.stopping ??= (async () => {
      if (this.running) {
        this.signal('SIGTERM');
        const timer = setTimeout(() => this.killGroupSync('SIGKILL'), graceMs);
        try {
          await this.exited;
        } finally {
          clearTimeout(timer);
        }
      } else {
        await this.exited;
      }
      // anything the process left behind in its group (e.g. forked workers)
      this.killGroupSync('SIGKILL');
      return this.exit!;
    })();
    return this.stopping;
  }
}

/** The processes one test file (or one test) started; stopAll() in afterAll/afterEach. */
export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];
  private readonly tempDirs: string[] = [];

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
    const p = new ManagedProcess(name, command, args, options);
    this.processes.push(p);
    return p;
  }

  /** `node dist/cli/taskwire.js <args>`; fails clearly when the CLI is not built. */
  taskwire(name: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
    assertCliBuilt();
    // A master keeps its store in ./data by default: a test's master gets a fresh one of its own.
    if ((args[0] === 'master' || args[0] === 'start') && options.env?.TASKWIRE_DATA_DIR === undefined && !args.includes('--data-dir')) {
      const dir = mkdtempSync(join(tmpdir(), 'taskwire-test-data-'));
      this.tempDirs.push(dir);
      options = { ...options, env: { ...options.env, TASKWIRE_DATA_DIR: dir } };
    }
    return this.spawn(name, process.execPath, [TASKWIRE_CLI, ...args], options);
  }

  /** Stops every process (in parallel), even if some already exited or fail to stop. */
  async stopAll(graceMs = 5000): Promise<void> {
    const all = this.processes.splice(0);
    await Promise.allSettled(all.map((p) => p.stop(graceMs)));
    for (const dir of this.tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** Output of every process, for a failure message. */
  dump(lastLines = 80): string {
    return this.processes.map((p) => `--- ${p.name} (pid ${p.pid}) ---\n${p.output(lastLines)}`).join('\n');
  }
}

export function assertCliBuilt(): void {
  if (!existsSync(TASKWIRE_CLI)) {
    throw new Error(`${TASKWIRE_CLI} does not exist: run \`npm run build\` first (npm test does it in pretest)`);
  }
}

/** Parses a pino JSON log line; undefined for anything else (banners, blank lines). */
export function parseJsonLine(text: string): Record<string, unknown> | undefined {
  const t = text.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits for a pino log line whose `msg` matches; returns the parsed record. */
export async function waitForLog(p: ManagedProcess, msg: RegExp, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const line = await p.waitForLine(
    (t) => {
      const rec = parseJsonLine(t);
      return typeof rec?.msg === 'string' && msg.test(rec.msg);
    },
    timeoutMs,
    `a log line with msg ${msg}`,
  );
  return parseJsonLine(line.text)!;
}

/** Polls url until it answers 2xx (or `ok` accepts the response); rejects on timeout or if `p` exits. */
export async function waitForHttp(
  url: string,
  opts: { timeoutMs?: number; stepMs?: number; process?: ManagedProcess; ok?: (res: Response) => boolean | Promise<boolean> } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (opts.process && !opts.process.running) {
      throw new Error(`${opts.process.name} exited while waiting for ${url}\n--- output ---\n${opts.process.output()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (opts.ok ? await opts.ok(res) : res.ok) return;
      last = `HTTP ${res.status}`;
      await res.body?.cancel();
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > until) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${url} (${last})${opts.process ? `\n--- output ---\n${opts.process.output()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.stepMs ?? 50));
  }
}
