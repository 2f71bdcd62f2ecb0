import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import mqtt from 'mqtt';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { grpcPackageDefinition } from '../../common/proto-root.js';
import type { ProtoGrpcType } from '../../common/gen/result_service.js';
import type { ResultServiceClient } from '../../common/gen/taskwire/v1/ResultService.js';
import type { SubmitResultResponse__Output } from '../../common/gen/taskwire/v1/SubmitResultResponse.js';
import type { TaskResult } from '../../common/gen/taskwire/v1/TaskResult.js';
import { Topics } from '../../common/topics.js';
import { OPEN_POLICY } from '../../master/transport/broker-policy.js';

const post = (url: string, body: string, type = 'application/json') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

describe('every boundary rejects bad input with a reason and keeps serving', () => {
  let c: TestCluster;
  beforeAll(async () => {
    // An open broker, so the fuzzer may write where only the master could (ACLs are tested in security.test.ts).
    c = await startCluster({ workers: 1, masterDeps: { brokerPolicy: OPEN_POLICY } });
  });
  afterAll(async () => {
    await c?.close();
  });

  it.each([
    ['missing kind', { input: {} }, 'kind'],
    ['kind of the wrong type', { kind: 7, input: {} }, 'kind'],
    ['invalid kind name', { kind: 'Echo!', input: {} }, 'kind'],
    ['kind nobody serves', { kind: 'teleport', input: {} }, 'kind'],
    ['priority out of range', { kind: 'echo', input: { text: 'x' }, priority: 42 }, 'priority'],
    ['unknown top-level field', { kind: 'echo', input: { text: 'x' }, colour: 'red' }, 'colour'],
    ['echo without text', { kind: 'echo', input: {} }, 'input.text'],
    ['sleep with a negative ms', { kind: 'sleep', input: { ms: -1 } }, 'input.ms'],
  ])('REST: %s -> 400 naming the field', async (_what, body, field) => {
    const res = await post(`${c.httpUrl}/api/v1/tasks`, JSON.stringify(body));
    expect(res.status).toBe(400);
    const err = ((await res.json()) as { error: { field: string; message: string } }).error;
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('REST: broken JSON -> 400, oversized body -> 413, unknown task -> 404', async () => {
    expect((await post(`${c.httpUrl}/api/v1/tasks`, '{"kind": ')).status).toBe(400);
    const huge = JSON.stringify({ kind: 'echo', input: { text: 'x'.repeat(2 * 1024 * 1024) } });
    expect((await post(`${c.httpUrl}/api/v1/tasks`, huge)).status).toBe(413);
    expect((await fetch(`${c.httpUrl}/api/v1/tasks/nope`)).status).toBe(404);
    expect((await fetch(`${c.httpUrl}/healthz`)).status).toBe(200);
  });

  it('MQTT: malformed status and assignment payloads are dropped and counted; nothing crashes', async () => {
    const topics = new Topics();
    const worker = c.workers[0]!;
    const client = await mqtt.connectAsync(c.mqttUrl, { clientId: `fuzzer-${Date.now()}` });
    const bad = ['', 'not json', '[]', '{"worker_id": 5}', '{"worker_id":"spoof","state":"WORKER_STATE_ONLINE"}', '{"state":"NOPE"}', '\u0000\u0001'];
    for (const p of bad) {
      await client.publishAsync(topics.workerStatus('fuzzed-worker'), p, { qos: 1 });
      await client.publishAsync(topics.workerTasks(worker.id), p, { qos: 1 });
      await client.publishAsync(topics.workerControl(worker.id), p, { qos: 1 });
    }
    // An assignment with a forged token runs, but its result is refused by the master.
    await client.publishAsync(
      topics.workerTasks(worker.id),
      JSON.stringify({ tasks: [{ task_id: 'forged', attempt: 1, kind: 'echo', input: { text: 'x' }, result_token: 'forged' }] }),
      { qos: 1 },
    );
    await client.endAsync();
    await waitFor(() => worker.invalidMessages.count >= bad.length * 2, 'worker to count invalid messages');
    await waitFor(() => c.master.tasks.counters.rejectedResults >= 1, 'forged result to be rejected');
    const metrics = await (await fetch(`${c.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/taskwire_invalid_messages_total\{boundary="mqtt"\} [1-9]/);
    expect(metrics).toMatch(/taskwire_results_rejected_total\{reason="[a-z_]+"\} [1-9]/);
    expect(c.master.registry.get('fuzzed-worker')).toBeUndefined();
    const t = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'still serving' } });
    expect(t.result).toEqual({ text: 'still serving' });
  });

  it('gRPC: forged, superseded and repeated results are refused; exactly one final is accepted', async () => {
    const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
    const client = new proto.taskwire.v1.ResultService(`127.0.0.1:${c.grpcPort}`, grpc.credentials.createInsecure()) as unknown as ResultServiceClient;
    const submit = (r: TaskResult) =>
      new Promise<SubmitResultResponse__Output | grpc.ServiceError>((resolve) => client.SubmitResult(r, (err, res) => resolve(err ?? res!)));
    const done = await runTask(c.httpUrl, { kind: 'echo', input: { text: 'genuine' } });
    const base = { task_id: done.id, attempt: 1, worker_id: done.worker_id!, outcome: 'TASK_OUTCOME_SUCCEEDED' as const, output: { stringValue: 'fake', kind: 'stringValue' as const } };
    const forged = (await submit({ ...base, result_token: 'x'.repeat(43) })) as SubmitResultResponse__Output;
    expect(forged.disposition).toBe('DISPOSITION_REJECTED');
    const wrongAttempt = (await submit({ ...base, attempt: 2, result_token: 'y' })) as SubmitResultResponse__Output;
    expect(wrongAttempt.disposition).toBe('DISPOSITION_REJECTED');
    const missing = (await submit({ task_id: done.id })) as grpc.ServiceError;
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    const after = (await (await fetch(`${c.httpUrl}/api/v1/tasks/${done.id}`)).json()) as { result: unknown };
    expect(after.result).toEqual({ text: 'genuine' });
    client.close();
  });
});
