/**
 * Fuzz: thousands of random and malformed payloads on every MQTT topic the
 * master reads and on every gRPC method. The master must keep serving, and
 * every bad input must be rejected and counted.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import mqtt from 'mqtt';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { OPEN_POLICY } from '../../master/transport/broker-policy.js';
import { Topics } from '../../common/topics.js';
import { rng } from '../helpers/random.js';

const SAMPLES: unknown[] = [
  null, true, 0, -1, 1.5, 1e308, '', 'x', [], {}, [1, 2], { a: 1 }, 'WORKER_STATE_ONLINE', 2 ** 53 + 1, '9'.repeat(40),
];
const FIELDS = ['worker_id', 'state', 'kinds', 'capacity', 'running', 'language', 'models', 'labels', 'started_at_ms', 'ts_ms', 'pid', 'workerId', '__proto__', 'constructor'];

function randomPayload(r: () => number, i: number): Buffer {
  switch (i % 6) {
    case 0:
      return randomBytes(1 + Math.floor(r() * 300)); // (an empty payload is a legitimate retained-status clear)
    case 1: {
      const o: Record<string, unknown> = {};
      for (let k = 0; k < 1 + r() * 6; k++) o[FIELDS[Math.floor(r() * FIELDS.length)]!] = SAMPLES[Math.floor(r() * SAMPLES.length)];
      return Buffer.from(JSON.stringify(o));
    }
    case 2:
      return Buffer.from(JSON.stringify({ worker_id: `fz-${i}`, state: 'WORKER_STATE_ONLINE', kinds: [r() > 0.5 ? 'echo' : 7], capacity: r() > 0.5 ? -3 : 'many' }));
    case 3:
      return Buffer.from('{"worker_id": "fz", "kinds": ['.repeat(1 + Math.floor(r() * 50)));
    case 4:
      return Buffer.from(JSON.stringify({ worker_id: 'mismatch', state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity: 1 }));
    default:
      return Buffer.alloc(70 * 1024, 0x7b); // over the 64 KiB status limit
  }
}

describe('fuzz: the master keeps serving under malformed input', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1, masterDeps: { brokerPolicy: OPEN_POLICY } });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('MQTT: 3000 random payloads on worker status topics are rejected and counted', async () => {
    const r = rng(20261124);
    const topics = new Topics();
    const client = await mqtt.connectAsync(c.mqttUrl, { clientId: 'fuzzer-mqtt', protocolVersion: 4 });
    const n = 3000;
    for (let i = 0; i < n; i++) {
      // 'mismatch' payloads go to a topic of another id; the rest to fz-<i>
      const id = `fz-${i % 97}`;
      client.publish(topics.workerStatus(id), randomPayload(r, i), { qos: 0 });
      if (i % 200 === 0) await new Promise((res) => setImmediate(res));
    }
    await client.publishAsync(topics.workerStatus('fz-sentinel'), 'x', { qos: 1 });
    await client.endAsync();
    const invalid = () => c.master.metrics.invalidMessages.get().then((m) => m.values.find((v) => v.labels.boundary === 'mqtt')?.value ?? 0);
    // Every payload is invalid by construction except case 2 with valid kinds (still invalid: capacity) -> all rejected.
    await waitFor(async () => (await invalid()) >= n, 'all fuzz payloads to be counted', 20_000, 50).catch(async (e) => {
      throw new Error(`${(e as Error).message}: counted ${await invalid()} of ${n}`);
    });
    console.log(`fuzz mqtt: sent ${n + 1}, rejected and counted ${await invalid()}`);
    expect(c.master.registry.all().filter((w) => w.id.startsWith('fz')).length).toBe(0);
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'alive' } });
    expect(t.result).toEqual({ text: 'alive' });
  });

  it('gRPC: 1500 random messages on every method are rejected and counted', async () => {
    const r = rng(7);
    const raw = (b: Buffer) => b;
    const Client = grpc.makeGenericClientConstructor(
      {
        SubmitResult: { path: '/taskwire.v1.ResultService/SubmitResult', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
        StreamResults: { path: '/taskwire.v1.ResultService/StreamResults', requestStream: true, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
        FetchSecrets: { path: '/taskwire.v1.ResultService/FetchSecrets', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
      },
      'Fuzz',
    );
    const client = new Client(`127.0.0.1:${c.grpcPort}`, grpc.credentials.createInsecure()) as unknown as Record<string, (...a: unknown[]) => unknown>;
    const before = await c.master.metrics.invalidMessages.get().then((m) => m.values.find((v) => v.labels.boundary === 'grpc')?.value ?? 0);
    const rejectedBefore = c.master.tasks.counters.rejectedResults;
    const unary = (method: string, buf: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) => (client[method] as (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void)(buf, (e) => resolve(e)));
    let errors = 0;
    let answered = 0;
    const n = 500;
    for (let i = 0; i < n; i++) {
      const buf = randomBytes(1 + Math.floor(r() * 200));
      for (const m of ['SubmitResult', 'FetchSecrets']) {
        const e = await unary(m, buf);
        if (e) errors++;
        else answered++;
      }
    }
    // A client stream of random frames.
    const stream = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = (client.StreamResults as (cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<Buffer>)((e) => resolve(e));
      for (let i = 0; i < n; i++) call.write(randomBytes(1 + Math.floor(r() * 200)));
      call.end();
    });
    const after = await c.master.metrics.invalidMessages.get().then((m) => m.values.find((v) => v.labels.boundary === 'grpc')?.value ?? 0);
    const rejected = c.master.tasks.counters.rejectedResults - rejectedBefore;
    console.log(`fuzz grpc: sent ${2 * n + n}, call errors ${errors}, answered ${answered} (rejected results ${rejected}), invalid counted ${after - before}, stream ${stream ? stream.code : 'ok'}`);
    // Every message was refused: either undecodable/invalid (counted) or decodable but refused by fencing (counted).
    expect(after - before + rejected).toBeGreaterThanOrEqual(2 * n);
    (client as unknown as grpc.Client).close();
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'still alive' } });
    expect(t.result).toEqual({ text: 'still alive' });
  });
});
