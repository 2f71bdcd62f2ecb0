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
