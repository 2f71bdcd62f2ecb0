import { afterEach, describe, expect, it } from 'vitest';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { silentLogger } from '../../common/logger.js';
import { uniqueId, waitFor } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

const log = { logger: silentLogger() };

describe('start-up against the broker', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('a worker started before the broker is up waits for it and registers when it comes', async () => {
    const port = await freePort();
    const token = 'a-cluster-token-for-this-test';
    const id = uniqueId('early');
    const workerP = Worker.create({ workerId: id, mqttUrl: `mqtt://127.0.0.1:${port}`, mqttPassword: token, logToStdout: false, healthFile: `/tmp/${id}.health` }, { logger: log });
    await new Promise((r) => setTimeout(r, 700)); // nothing listens yet
    const master = await Master.create({ bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: port, logToStdout: false, clusterToken: token }, { logger: log });
    cleanup.push(() => master.close());
    const worker = await workerP;
    cleanup.push(() => worker.close(0));
    await waitFor(() => master.registry.get(id)?.state === 'online', 'the early worker online');
  });

  it('a worker with a wrong token fails at once with a message that says so', async () => {
    const master = await Master.create({ bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false }, { logger: log });
    cleanup.push(() => master.close());
    const started = Date.now();
    await expect(
      Worker.create({ workerId: uniqueId('bad'), mqttUrl: master.mqttUrl, mqttPassword: 'wrong-token', logToStdout: false, healthFile: '/tmp/bad.health' }, { logger: log }),
    ).rejects.toThrow(/refused our credentials.*TASKWIRE_CLUSTER_TOKEN/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('gives up with a clear error when no broker comes within the timeout', async () => {
    const port = await freePort();
    await expect(
      Worker.create({ workerId: uniqueId('lonely'), mqttUrl: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 800, logToStdout: false, healthFile: '/tmp/lonely.health' }, { logger: log }),
    ).rejects.toThrow(/could not connect to the MQTT broker .* within 800 ms/);
  });
});
