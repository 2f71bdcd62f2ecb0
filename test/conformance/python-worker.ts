/**
 * Starts the Python reference worker (worker/python/run.sh) as a child process
 * against a test master, and waits until the master sees it online.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCluster } from '../helpers/cluster.js';
import { uniqueId, waitFor } from '../helpers/cluster.js';
import type { ManagedProcess, ProcessGroup } from '../helpers/processes.js';
import { PYTHON_WORKER } from './worker-implementations.js';

export interface PythonWorkerOptions {
  env?: Record<string, string>;
  /** Pass TASKWIRE_GRPC_URL (default: let the worker find it in the retained master status). */
  explicitGrpc?: boolean;
  timeoutMs?: number;
}

export async function startPythonWorker(
  group: ProcessGroup,
  c: TestCluster,
  o: PythonWorkerOptions = {},
): Promise<{ id: string; process: ManagedProcess; healthFile: string }> {
  const id = uniqueId('py');
  const healthFile = join(tmpdir(), `${id}.health`);
  const p = group.spawn(id, PYTHON_WORKER, [], {
    env: {
      TASKWIRE_MQTT_URL: c.mqttUrl,
      TASKWIRE_CLUSTER_TOKEN: c.master.clusterToken,
      TASKWIRE_WORKER_ID: id,
      TASKWIRE_WORKER_CAPACITY: '4',
      TASKWIRE_SHUTDOWN_GRACE_MS: '1000',
      TASKWIRE_HEALTH_FILE: healthFile,
      ...(o.explicitGrpc ? { TASKWIRE_GRPC_URL: `127.0.0.1:${c.grpcPort}` } : {}),
      ...o.env,
    },
  });
  try {
    await waitFor(
      () => {
        if (!p.running) throw new Error(`the Python worker exited: ${JSON.stringify(p.exit)}\n${p.output()}`);
        return c.master.registry.get(id)?.state === 'online';
      },
      'the Python worker online',
      o.timeoutMs ?? 30_000,
      20,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- python worker output ---\n${p.output()}`);
  }
  return { id, process: p, healthFile };
}
