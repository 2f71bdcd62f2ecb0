/**
 * Local worker processes for `taskwire start`: forks the CLI's `worker`
 * command N times, restarts one that dies (with backoff), and stops them all
 * with SIGTERM (then SIGKILL after the grace period).
 *
 * A local worker never outlives its master: it is forked with an IPC channel
 * and TASKWIRE_PARENT_PID, and `watchParent` (run in the worker) stops it as
 * soon as the channel closes or its parent pid changes (the master was
 * killed, even with kill -9). So a restarted `taskwire start` finds no
 * leftovers fighting its new workers for the same ids.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { Logger } from '../common/logger.js';

export interface LocalWorkersOptions {
  count: number;
  cliPath: string;
  env: NodeJS.ProcessEnv;
  /** Extra environment of worker `index` (0-based), e.g. its own MQTT password. */
  envFor?: (index: number) => NodeJS.ProcessEnv;
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
      env: { ...this.options.env, ...this.options.envFor?.(index), TASKWIRE_WORKER_ID: `${this.options.idPrefix}-${index + 1}`, TASKWIRE_PARENT_PID: String(process.pid) },
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

/** How often a local worker checks that its master still lives, ms. */
export const PARENT_CHECK_MS = 500;

/**
 * In a local worker (forked by LocalWorkers): calls `stop` once when the
 * master is gone (IPC channel closed, or the parent pid is no longer the
 * one in TASKWIRE_PARENT_PID). Does nothing in a worker started on its own.
 */
export function watchParent(env: NodeJS.ProcessEnv, stop: (why: string) => void): void {
  const expected = Number(env.TASKWIRE_PARENT_PID);
  if (!Number.isInteger(expected) || expected <= 0) return;
  let fired = false;
  const fire = (why: string) => {
    if (fired) return;
    fired = true;
    clearInterval(timer);
    stop(why);
  };
  if (process.connected) process.once('disconnect', () => fire('the master closed its channel (it exited)'));
  const timer = setInterval(() => {
    if (process.ppid !== expected) fire(`the master (pid ${expected}) is gone`);
  }, PARENT_CHECK_MS);
  timer.unref();
  if (process.ppid !== expected) fire(`the master (pid ${expected}) is gone`);
}
