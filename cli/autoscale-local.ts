/**
 * `taskwire start --autoscale`: the local actuator's workers are processes
 * forked from the CLI's `worker` command (as `LocalWorkers` forks them for a
 * fixed count), with the same parent watch (a local worker never outlives its
 * master). The autoscaler decides how many; a scale-down drains the chosen
 * worker before its SIGTERM (process-actuator.ts).
 */
import { fork } from 'node:child_process';
import type { Logger } from '../common/logger.js';
import { ProcessActuator, type DrainHost } from '../master/autoscaling/process-actuator.js';
import type { ScalingActuator } from '../master/autoscaling/scaling-actuator.js';

export interface LocalAutoscaleOptions {
  cliPath: string;
  /** The workers' environment, read at each start (the master's ports are known only once it runs). */
  env: () => NodeJS.ProcessEnv;
  idPrefix: string;
  log: () => Logger;
  graceMs: number;
}

export function localActuator(options: LocalAutoscaleOptions): (host: DrainHost) => ScalingActuator {
  return (host) =>
    new ProcessActuator({
      idPrefix: options.idPrefix,
      host,
      spawn: (workerId) => {
        const child = fork(options.cliPath, ['worker'], {
          env: { ...options.env(), TASKWIRE_WORKER_ID: workerId, TASKWIRE_PARENT_PID: String(process.pid) },
          stdio: 'inherit',
        });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        void exited.then(() => options.log().info({ worker_id: workerId, code: child.exitCode, signal: child.signalCode }, 'autoscaled local worker exited'));
        return {
          exited,
          stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs + 2000);
            child.kill('SIGTERM');
            await exited;
            clearTimeout(timer);
          },
        };
      },
    });
}
