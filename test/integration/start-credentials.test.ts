/**
 * `taskwire start` with per-worker credentials (TASKWIRE_WORKER_CREDENTIALS_FILE):
 * the cluster token then admits no worker, so the local workers get passwords
 * of their own from their master; they come online and run tasks, and the
 * ids of the file still log in with theirs only.
 * Spawns dist/cli/taskwire.js (npx tsc -p tsconfig.build.json first).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { assertCliBuilt, waitForHttp } from '../helpers/processes.js';
import { waitForTask } from '../helpers/cluster.js';
import { faultFixture, listWorkers, postTask, until } from '../fault/fault-cluster.js';
import { masterPortsEnv } from '../helpers/ports.js';

assertCliBuilt();
const CLI = join(process.cwd(), 'dist', 'cli', 'taskwire.js');
const { group, tmp } = faultFixture('taskwire-start-creds-');

/** True when the broker accepts this MQTT login. */
async function accepted(url: string, clientId: string, password: string): Promise<boolean> {
  // A worker must connect with its Last Will on its status topic (docs/PROTOCOL.md).
  const will = { topic: `taskwire/v1/workers/${clientId}/status`, payload: Buffer.from(JSON.stringify({ worker_id: clientId, state: 'WORKER_STATE_OFFLINE' })), qos: 1 as const, retain: true };
  const c = mqtt.connect(url, { clientId, username: clientId, password, reconnectPeriod: 0, connectTimeout: 5000, will });
  try {
    return await new Promise<boolean>((resolve) => {
      c.once('connect', () => resolve(true));
      c.once('error', () => resolve(false));
      c.once('close', () => resolve(false));
    });
  } finally {
    c.end(true);
  }
}

describe('taskwire start with a worker credentials file', () => {
  it('its local workers join with passwords of their own, and the cluster token admits no one', async () => {
    const creds = join(tmp.dir, 'workers.txt');
    writeFileSync(creds, '# id:password\nremote-gpu-1:remote-password-0123456789\n', { mode: 0o600 });
    const { env: masterEnv, httpUrl, ports } = await masterPortsEnv(join(tmp.dir, 'data'));
    const env = { ...masterEnv, TASKWIRE_LOCAL_WORKERS: '2', TASKWIRE_WORKER_CREDENTIALS_FILE: creds };
    const proc = group.taskwire('start', ['start'], { env, maxLines: 5000 });
    await waitForHttp(`${httpUrl}/healthz`, { process: proc, timeoutMs: 30_000 });
    await until(async () => (await listWorkers(httpUrl).catch(() => [])).filter((w) => w.state === 'online').length >= 2, '2 local workers online', 30_000);
    const t = await postTask(httpUrl, { kind: 'echo', input: { text: 'local with its own password' } });
    expect(t).toBeDefined();
    expect((await waitForTask(httpUrl, t!.id, 15_000)).status).toBe('succeeded');

    const url = `mqtt://127.0.0.1:${ports.mqtt}`;
    const token = execFileSync(process.execPath, [CLI, 'token', '--data-dir', join(tmp.dir, 'data')], { encoding: 'utf8' }).trim();
    expect(token.length).toBeGreaterThan(20);
    expect(await accepted(url, 'rogue-1', token)).toBe(false); // the shared token admits no worker
    expect(await accepted(url, 'remote-gpu-1', 'remote-password-0123456789')).toBe(true); // the file's ids still do
  }, 90_000);
});
