/**
 * The worker under test: `--worker-cmd` run by /bin/sh in its own process
 * group, so a crash (`kill -9`) or a SIGTERM reaches the worker whatever
 * wrapper (sh, npm, a venv script) the command uses. Output is kept for
 * failure messages; every group still alive when the suite exits is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface WorkerProcessOptions {
  /** Shell command that starts one worker. */
  command: string;
  /** Full environment of the worker (the suite passes a minimal one). */
  env: Record<string, string>;
  /** Label in output (the worker id). */
  name: string;
  /** Copy the worker's output to stderr as it arrives. */
  echo: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_LINES = 400;
const live = new Set<WorkerProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.signalGroup('SIGKILL');
  });
}

export class WorkerProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  private readonly child: ChildProcess;

  private constructor(readonly options: WorkerProcessOptions) {
    this.child = spawn('/bin/sh', ['-c', options.command], { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    installExitHook();
    live.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (info: ExitInfo) => {
        this.exit ??= info;
        live.delete(this);
        resolve(this.exit);
      };
      this.child.once('error', (err) => {
        this.push(`[spawn error] ${err.message}`);
        done({ code: -1, signal: null });
      });
      this.child.once('exit', (code, signal) => done({ code, signal }));
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) this.push(p);
      });
      stream?.on('end', () => {
        if (partial) this.push(partial);
      });
    }
  }

  static start(options: WorkerProcessOptions): WorkerProcess {
    return new WorkerProcess(options);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) this.lines.shift();
    if (this.options.echo) process.stderr.write(`[${this.options.name}] ${line}\n`);
  }

  /** The last lines of output, for a failure detail. */
  tail(n = 15): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Signals the whole process group (sh and the worker); errors ignored. */
  signalGroup(sig: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // already gone
    }
  }

  /** Resolves with the exit, or undefined after timeoutMs. */
  async waitForExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** True while any process of the group (sh, the worker, its children) is alive. */
  groupAlive(): boolean {
    if (this.child.pid === undefined) return false;
    try {
      process.kill(-this.child.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Resolves with the leader's exit once every process of the group is gone
   * (a shell wrapper may exit before the worker it started), or undefined
   * after timeoutMs.
   */
  async waitForGroupExit(timeoutMs: number): Promise<ExitInfo | undefined> {
    const until = Date.now() + timeoutMs;
    const exit = await this.waitForExit(timeoutMs);
    if (!exit) return undefined;
    while (this.groupAlive()) {
      if (Date.now() > until) return undefined;
      await new Promise((r) => setTimeout(r, 25));
    }
    return exit;
  }

  /** A crash: SIGKILL to the whole group. */
  async kill9(): Promise<ExitInfo | undefined> {
    this.signalGroup('SIGKILL');
    return this.waitForExit(5000);
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the group's leader is gone. Idempotent. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) {
      this.signalGroup('SIGKILL');
      return;
    }
    this.signalGroup('SIGTERM');
    if ((await this.waitForExit(graceMs)) === undefined) this.signalGroup('SIGKILL');
    await this.waitForExit(5000);
    this.signalGroup('SIGKILL');
  }
}
