/**
 * `taskwire start`'s local workers run on the master's host, so they read
 * input blobs from its data dir (TASKWIRE_BLOB_DIR, set by `start`) instead
 * of fetching them over gRPC: an image uploaded over REST, processed by a
 * local worker whose /metrics counts the input as a local read.
 * Spawns dist/cli/taskwire.js (npx tsc -p tsconfig.build.json first).
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { assertCliBuilt, waitForHttp } from '../helpers/processes.js';
import { waitForTask } from '../helpers/cluster.js';
import { faultFixture, listWorkers, postTask, until } from '../fault/fault-cluster.js';
import { freePort, masterPortsEnv } from '../helpers/ports.js';

assertCliBuilt();
const { group, tmp } = faultFixture('taskwire-start-blobs-');

describe('taskwire start: local workers read inputs from the data dir', () => {
  it('an uploaded image is read by the local worker from the blob directory', async () => {
    const master = await masterPortsEnv(join(tmp.dir, 'data'));
    const metricsPort = await freePort();
    const env = { ...master.env, TASKWIRE_LOCAL_WORKERS: '1', TASKWIRE_METRICS_PORT: String(metricsPort), TASKWIRE_METRICS_HOST: '127.0.0.1' };
    const httpUrl = master.httpUrl;
    const proc = group.taskwire('start', ['start'], { env, maxLines: 5000 });
    await waitForHttp(`${httpUrl}/healthz`, { process: proc, timeoutMs: 30_000 });
    await until(async () => (await listWorkers(httpUrl).catch(() => [])).some((w) => w.state === 'online'), 'the local worker (it serves image) online', 30_000);

    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 200, g: 30, b: 60 } } }).png().toBuffer();
    const up = await fetch(`${httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png) });
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    const t = await postTask(httpUrl, { kind: 'image', input: { blob: id, ops: [{ op: 'resize', width: 64, height: 40 }, { op: 'format', format: 'png' }] } });
    expect(t).toBeDefined();
    const done = await waitForTask(httpUrl, t!.id, 30_000);
    expect(done.status).toBe('succeeded');
    expect((done.result as { width?: number }).width).toBe(64);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const count = (source: string) => Number(new RegExp(`^taskwire_worker_blob_fetches_total\\{[^}]*source="${source}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
    expect({ local: count('local'), master: count('master') }).toEqual({ local: 1, master: 0 });
  }, 90_000);
});
