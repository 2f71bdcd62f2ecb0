/**
 * FetchBlob / PutBlob on a real master: refused without an attempt holding a
 * valid result token (PERMISSION_DENIED), so a blob is reachable over gRPC
 * only by the worker running a task that names it.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { grpcPackageDefinition } from '../../common/proto-root.js';
import type { ProtoGrpcType } from '../../common/gen/result_service.js';
import type { ResultServiceClient } from '../../common/gen/taskwire/v1/ResultService.js';
import { Master } from '../../master/master.js';

let master: Master;
let client: ResultServiceClient;
let blob: string;

beforeAll(async () => {
  master = await Master.create(
    { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort: 0, logToStdout: false, logLevel: 'warn' },
    { logger: { logger: silentLogger() } },
  );
  blob = (await master.blobs.put(Buffer.from('some bytes'), 'application/octet-stream')).id;
  const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
  client = new proto.taskwire.v1.ResultService(`127.0.0.1:${master.grpcPort}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await master?.close();
});

const ident = { task_id: 'no-such-task', attempt: 1, worker_id: 'w', result_token: 'forged' };

describe('blob RPCs', () => {
  it('FetchBlob without a valid attempt is PERMISSION_DENIED and sends no data', async () => {
    const chunks: Buffer[] = [];
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      const call = client.FetchBlob({ ...ident, blob_id: blob });
      call.on('data', (c: { data: Buffer }) => chunks.push(c.data));
      call.on('error', resolve);
      call.on('end', () => reject(new Error('stream ended without an error')));
    });
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(chunks).toHaveLength(0);
  });

  it('PutBlob without a valid attempt is PERMISSION_DENIED and stores nothing', async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.PutBlob((e) => resolve(e));
      call.write({ ...ident, content_type: 'image/png', data: Buffer.from('forged upload') });
      call.end();
    });
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    const { sha256Hex } = await import('../../master/blobs/blob-store.js');
    expect(await master.blobs.has(sha256Hex(Buffer.from('forged upload')))).toBe(false);
  });
});

describe('blob RPCs streaming (the worker client against the blob handlers)', () => {
  // The handlers on a real gRPC server with a real store, every attempt allowed: what travels.
  let server: grpc.Server;
  let store: import('../../master/blobs/blob-store.js').BlobStore;
  let blobs: import('../../worker/handlers/task-handler.js').TaskBlobs;
  let raw: ResultServiceClient;

  beforeAll(async () => {
    const { BlobStore } = await import('../../master/blobs/blob-store.js');
    const { blobHandlers } = await import('../../master/transport/blob-service.js');
    const { grpcTaskBlobs } = await import('../../worker/blob-client.js');
    store = new BlobStore();
    const proto = grpc.loadPackageDefinition(grpcPackageDefinition()) as unknown as ProtoGrpcType;
    server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    const unused = () => undefined;
    server.addService(proto.taskwire.v1.ResultService.service, { ...blobHandlers({ blobs: store, authorize: () => undefined, log: silentLogger() }), SubmitResult: unused, StreamResults: unused });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    raw = new proto.taskwire.v1.ResultService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    blobs = grpcTaskBlobs(() => raw, ident);
  });

  afterAll(async () => {
    raw?.close();
    await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
    await store?.destroy();
  });

  it('a blob of several chunks arrives whole and in order, the first chunk with type and size', async () => {
    const data = Buffer.alloc(2.5 * 1024 * 1024 + 3);
    for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const { id } = await store.put(data, 'image/jpeg');
    const got = await blobs.fetch(id);
    expect(got.equals(data)).toBe(true);
    const chunks: { data: Buffer; content_type: string; size: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = raw.FetchBlob({ ...ident, blob_id: id });
      call.on('data', (c: { data: Buffer; content_type: string; size: number }) => chunks.push({ ...c, data: Buffer.from(c.data) }));
      call.on('error', reject);
      call.on('end', resolve);
    });
    expect(chunks.map((c) => c.data.length)).toEqual([1024 * 1024, 1024 * 1024, 0.5 * 1024 * 1024 + 3]);
    expect(chunks[0]).toMatchObject({ content_type: 'image/jpeg', size: data.length });
    // Sent from one reused read buffer: each piece still holds its own bytes.
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(data)).toBe(true);
    // What the worker puts back is stored under its digest.
    const put = await blobs.put(got.subarray(0, 1_500_000), 'image/webp');
    expect(put).toEqual({ id: (await import('../../master/blobs/blob-store.js')).sha256Hex(data.subarray(0, 1_500_000)), size: 1_500_000 });
    expect((await store.get(put.id)).data.equals(data.subarray(0, 1_500_000))).toBe(true);
  });

  it('an empty blob is one empty chunk; a missing one is NOT_FOUND', async () => {
    const { id } = await store.put(Buffer.alloc(0), 'application/octet-stream');
    expect((await blobs.fetch(id)).length).toBe(0);
    await expect(blobs.fetch('0'.repeat(64))).rejects.toThrow(/no blob/);
  });
});
