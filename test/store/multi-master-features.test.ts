/**
 * Multi-master claims by feature, on real processes: two masters on one
 * PostgreSQL and one Mosquitto, image tasks whose input is webp (they need
 * `image:read:webp`, master/blobs/blob-read-features.ts).
 * (1) A's share is one worker of `image` that does not read webp, B's a
 *     TypeScript worker (sharp reads webp): every webp task submitted through
 *     A runs on B's worker, claimed by B, and A's worker is never given one.
 *     (Before, A kept them for its worker of the kind and they waited there.)
 * (2) A webp task B claimed and gave to its webp worker comes back to B's
 *     queue when that worker goes; B's share is then a worker of the kind
 *     that does not read webp: B gives the task back to the pool after the
 *     grace, and A, once it has a worker that reads webp, claims and runs it.
 *     (Before, the give-back went by kind only: it waited on B for good.)
 *
 * The workers without webp are protocol-level workers of this file (a status
 * over MQTT, the assignments they get recorded, never a result): the only
 * workers here that lack a read format are the Java and Go ones, which need
 * a JVM build or Go modules; the protocol is all the master sees of either.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Topics } from '../../common/topics.js';
import { assignmentsCodec, workerStatusCodec } from '../../common/wire.js';
import type { WorkerStatus } from '../../common/gen/taskwire/v1/WorkerStatus.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { assertCliBuilt } from '../helpers/processes.js';
import { faultFixture, type MasterProcess, spawnWorker, startMasterProcess, until, workerReady } from '../fault/fault-cluster.js';

const available = postgresAvailable() && mosquittoAvailable();
const ROOT = 'mmf/v1';
const topics = new Topics(ROOT);
const OPS = [{ op: 'resize', width: 40 }, { op: 'format', format: 'png' }];

/** A worker as the protocol shows it: its retained status, and the task ids it was assigned (it never answers). */
class ProtocolWorker {
  readonly assigned: string[] = [];
  private constructor(
    private readonly client: mqtt.MqttClient,
    private readonly id: string,
    private readonly status: WorkerStatus,
  ) {}

  static async start(url: string, id: string, features: string[]): Promise<ProtocolWorker> {
    const status: WorkerStatus = {
      worker_id: id, state: 'WORKER_STATE_ONLINE', kinds: ['image'], capacity: 2, running: 0, language: 'protocol-test', version: '0',
      protocol: 'taskwire.v1', hostname: 'test', pid: process.pid, started_at_ms: Date.now(), ts_ms: Date.now(), models: [], labels: {}, features,
    };
    const offline = workerStatusCodec.encode({ ...status, state: 'WORKER_STATE_OFFLINE', reason: 'connection lost' });
    const client = await mqtt.connectAsync(url, { clientId: id, protocolVersion: 4, clean: true, will: { topic: topics.workerStatus(id), payload: offline, qos: 1, retain: true } });
    const w = new ProtocolWorker(client, id, status);
    client.on('message', (_topic, payload) => {
      for (const a of assignmentsCodec.decode(payload).tasks) w.assigned.push(a.task_id);
    });
    await client.subscribeAsync(topics.workerTasks(id), { qos: 1 });
    await client.publishAsync(topics.workerStatus(id), workerStatusCodec.encode(status), { qos: 1, retain: true });
    return w;
  }

  /** Goes offline as a worker that stops does (its retained OFFLINE status), then disconnects. */
  async stop(): Promise<void> {
    if (!this.client.connected) return;
    await this.client.publishAsync(topics.workerStatus(this.id), workerStatusCodec.encode({ ...this.status, state: 'WORKER_STATE_OFFLINE', reason: 'stopped', ts_ms: Date.now() }), { qos: 1, retain: true });
    await this.client.endAsync();
  }
}

describe.skipIf(!available)(`multi-master claims by feature${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres | undefined;
  let broker: Mosquitto | undefined;
  const protocolWorkers: ProtocolWorker[] = [];
  const { group, tmp } = faultFixture('taskwire-multi-features-', {
    after: async () => {
      for (const w of protocolWorkers) await w.stop().catch(() => undefined);
      await Promise.all([server?.close(), broker?.close()]);
    },
  });

  const startMaster = (url: string, id: string): Promise<MasterProcess> =>
    startMasterProcess(group, {
      name: id,
      dataDir: join(tmp.dir, id),
      mqttUrl: broker!.url,
      startTimeoutMs: 60_000,
      env: { TASKWIRE_STORE: url, TASKWIRE_MASTERS: 'multi', TASKWIRE_MASTER_ID: id, TASKWIRE_MASTER_LEASE_MS: '2000', TASKWIRE_TOPIC_ROOT: ROOT },
    });
  const imageWorker = (id: string) =>
    spawnWorker(group, { id, mqttUrl: broker!.url, capacity: 2, dir: tmp.dir, env: { TASKWIRE_TOPIC_ROOT: ROOT, TASKWIRE_WORKER_KINDS: 'image', MALLOC_ARENA_MAX: '2' } });
  const protocolWorker = async (id: string, features: string[]) => {
    const w = await ProtocolWorker.start(broker!.url, id, features);
    protocolWorkers.push(w);
    return w;
  };
  /** The workers a master dispatches to (its share: online there; the others' show as draining). */
  const onlineOn = async (m: MasterProcess): Promise<string[]> => {
    const res = await fetch(`${m.httpUrl}/api/v1/workers`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (!res?.ok) return [];
    return ((await res.json()) as { workers: { id: string; state: string }[] }).workers.filter((w) => w.state === 'online').map((w) => w.id).sort();
  };
  const shares = async (a: MasterProcess, b: MasterProcess, onA: string[], onB: string[]) =>
    until(async () => JSON.stringify([await onlineOn(a), await onlineOn(b)]) === JSON.stringify([onA, onB]), `shares A ${onA.join(',')} / B ${onB.join(',')}`, 60_000, 200);
  const webpTask = async (m: MasterProcess, i: number): Promise<string> => {
    const data = await sharp({ create: { width: 90 + i, height: 60, channels: 3, background: { r: (i * 37) % 255, g: 80, b: 20 } } }).webp().toBuffer();
    const blob = (await (await fetch(`${m.httpUrl}/api/v1/blobs`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) })).json()) as { id: string };
    const res = await fetch(`${m.httpUrl}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'image', input: { blob: blob.id, ops: OPS } }) });
    expect(res.status, await res.clone().text()).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  type TaskJson = { status: string; worker_id: string | null; attempt: number };
  const settled = async (m: MasterProcess, ids: string[], what: string): Promise<TaskJson[]> => {
    let views: TaskJson[] = [];
    await until(async () => {
      views = await Promise.all(ids.map(async (id) => (await (await fetch(`${m.httpUrl}/api/v1/tasks/${id}`, { signal: AbortSignal.timeout(5000) })).json()) as TaskJson));
      return views.every((v) => ['succeeded', 'failed', 'cancelled', 'expired'].includes(v.status));
    }, what, 60_000, 250);
    return views;
  };

  it('webp tasks go to the master whose worker reads webp; a claimed one its master can no longer run goes back to the pool and runs elsewhere', { timeout: 240_000 }, async () => {
    assertCliBuilt();
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
    const url = await server.createDatabase();
    const a = await startMaster(url, 'mf-a');
    const b = await startMaster(url, 'mf-b');
    // Shares go by sorted worker ids over the sorted masters: fw-0 is A's, fw-1 B's.
    const ts1 = imageWorker('fw-1');
    await workerReady(ts1, 60_000);
    await until(async () => (await onlineOn(b)).includes('fw-1') || (await onlineOn(a)).includes('fw-1'), 'fw-1 online', 30_000);
    // The features sharp advertises less read:webp: a worker of the same chains that cannot decode webp.
    const all = ((await (await fetch(`${b.httpUrl}/api/v1/workers`)).json()) as { workers: { id: string; features: string[] }[] }).workers.find((w) => w.id === 'fw-1')!.features;
    expect(all).toContain('image:read:webp');
    const noWebp = all.filter((f) => f !== 'image:read:webp');
    const fw0 = await protocolWorker('fw-0', noWebp);
    await shares(a, b, ['fw-0'], ['fw-1']);

    // (1) Through A, whose only worker of the kind does not read webp: all run on B's worker, claimed by B.
    const ids = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => webpTask(a, i)));
    const views = await settled(a, ids, 'the webp tasks submitted through A');
    for (const v of views) expect(v, JSON.stringify(v)).toMatchObject({ status: 'succeeded', worker_id: 'fw-1' });
    const owners = await queryRows<{ owner: string; features: string }>(url, 'SELECT owner, features FROM tasks WHERE id = ANY($1::text[])', [ids]);
    expect(owners).toEqual(ids.map(() => ({ owner: 'mf-b', features: 'format:png,op:format,op:resize,read:webp' })));
    expect(fw0.assigned).toEqual([]);

    // (2) B's webp worker is fw-2 (fw-1 gone; fw-3, without webp, is A's): a task B claimed runs there.
    await ts1.stop();
    const fw2 = await protocolWorker('fw-2', all);
    const fw3 = await protocolWorker('fw-3', noWebp);
    await shares(a, b, ['fw-0', 'fw-3'], ['fw-2']);
    const held = await webpTask(a, 9);
    await until(() => fw2.assigned.includes(held), 'the webp task assigned to fw-2 by B', 30_000);
    // fw-2 goes: the task is queued on B again, and B's share is now fw-3 (the kind, not webp).
    await fw2.stop();
    await shares(a, b, ['fw-0'], ['fw-3']);
    await until(async () => (await queryRows<{ owner: string | null }>(url, 'SELECT owner FROM tasks WHERE id = $1', [held]))[0]!.owner === null, 'B gave the task back to the pool', 30_000, 200);
    expect(b.proc.lines.some((l) => l.text.includes('queued tasks no worker of this master runs went back to the shared pool'))).toBe(true);
    // A worker that reads webp joins A's share (fw-4; fw-3 stays B's): A claims the task and it runs there.
    const ts4 = imageWorker('fw-4');
    await workerReady(ts4, 60_000);
    await shares(a, b, ['fw-0', 'fw-4'], ['fw-3']);
    const [done] = await settled(b, [held], 'the given-back task');
    expect(done).toMatchObject({ status: 'succeeded', worker_id: 'fw-4' });
    expect((await queryRows<{ owner: string }>(url, 'SELECT owner FROM tasks WHERE id = $1', [held]))[0]!.owner).toBe('mf-a');
    expect([...fw0.assigned, ...fw3.assigned]).toEqual([]);
  });
});
