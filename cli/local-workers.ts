/**
 * Local worker processes for `taskwire start`: forks the CLI's `worker`
 * command N times, restarts one that dies (with backoff), and stops them all
 * with SIGTERM (then SIGKILL after the grace period).
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../common/logger.js';

export interface LocalWorkersOptions {
  count: number;
  cliPath: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  graceMs: number;
  /** Local workers are named `<idPrefix>-1`, `<idPrefix>-2`, ... */
  idPrefix: string;
}

export class LocalWorkers {
  private readonly children = new Map<number, ChildProcess>();
  private stopping = false;

  constructor(private readonly options: LocalWorkersOptions) {}

  start(): void {
    for (let i = 0; i < this.options.count; i++) this.spawn(i, 0);
  }

  private spawn(index: number, restarts: number): void {
    if (this.stopping) return;
    const child = fork(this.options.cliPath, ['worker'], {
      env: { ...this.options.env, TASKWIRE_WORKER_ID: `${this.options.idPrefix}-${index + 1}` },
      stdio: 'inherit',
    });
    this.children.set(index, child);
    const startedAt = Date.now();
    child.on('exit', (code, signal) => {
      this.children.delete(index);
      if (this.stopping) return;
      const n = Date.now() - startedAt > 30_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(n, 6));
      this.options.log.warn({ index, code, signal, restart_in_ms: delay }, 'local worker exited; restarting');
      setTimeout(() => this.spawn(index, n), delay).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const waits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), this.options.graceMs + 2000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    );
    await Promise.all(waits);
  }
}
