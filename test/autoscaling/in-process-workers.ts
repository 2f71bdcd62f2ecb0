/**
 * The local actuator over in-process workers (real Worker instances over
 * MQTT + gRPC, no child processes): what `taskwire start --autoscale` does
 * with forked processes, cheap enough for hundreds of scale changes.
 */
import { silentLogger } from '../../common/logger.js';
import { Worker } from '../../worker/worker.js';
import { ProcessActuator, type DrainHost } from '../../master/autoscaling/process-actuator.js';
import { uniqueId, type TestCluster } from '../helpers/cluster.js';
import type { TaskHandler } from '../../worker/handlers/task-handler.js';

export interface InProcessWorkers {
  /** The actuator the master made (set once a `local` policy is applied). */
  actuator(): ProcessActuator;
  factory: (host: DrainHost) => ProcessActuator;
  closeAll(): Promise<void>;
}

export function inProcessWorkers(cluster: () => TestCluster, capacity = 2, handlers: TaskHandler[] = []): InProcessWorkers {
  let made: ProcessActuator | undefined;
  const units: Worker[] = [];
  return {
    actuator: () => made!,
    factory: (host) =>
      (made = new ProcessActuator({
        idPrefix: uniqueId('as'),
        host,
        pollMs: 20,
        spawn: (workerId) => {
          let done!: () => void;
          const exited = new Promise<void>((r) => (done = r));
          const c = cluster();
          const ready = Worker.create(
            { workerId, mqttUrl: c.mqttUrl, mqttPassword: c.master.clusterToken, capacity, logToStdout: false, healthFile: `/tmp/${uniqueId('health')}` },
            { logger: { logger: silentLogger() }, handlers },
          ).then((w) => (units.push(w), w));
          return {
            exited,
            stop: async () => {
              await (await ready).close(2000);
              done();
            },
          };
        },
      })),
    closeAll: async () => {
      await Promise.allSettled(units.map((w) => w.close(0)));
    },
  };
}
