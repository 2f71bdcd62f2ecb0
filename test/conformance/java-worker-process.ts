/**
 * Starts the Java worker (the jar `mvn package` builds) as a child process
 * against a test master, and waits until the master sees it online.
 */
import type { TestCluster } from '../helpers/cluster.js';
import { uniqueId, waitFor } from '../helpers/cluster.js';
import type { ManagedProcess, ProcessGroup } from '../helpers/processes.js';
import { JAVA_JAR } from './worker-implementations.js';

export async function startJavaWorker(
  group: ProcessGroup,
  c: TestCluster,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ id: string; process: ManagedProcess }> {
  const id = uniqueId('java');
  const p = group.spawn(id, 'java', ['-jar', JAVA_JAR], {
    env: {
      TASKWIRE_MQTT_URL: c.mqttUrl,
      TASKWIRE_CLUSTER_TOKEN: c.master.clusterToken,
      TASKWIRE_WORKER_ID: id,
      TASKWIRE_WORKER_CAPACITY: '4',
      TASKWIRE_SHUTDOWN_GRACE_MS: '1000',
      ...env,
    },
  });
  await waitFor(
    () => {
      if (!p.running) throw new Error(`the Java worker exited: ${JSON.stringify(p.exit)}\n${p.output()}`);
      return c.master.registry.get(id)?.state === 'online';
    },
    'the Java worker online',
    timeoutMs,
    20,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- Java worker output ---\n${p.output()}`);
  });
  return { id, process: p };
}
