/**
 * TaskBlobs over gRPC: FetchBlob / PutBlob on the master's ResultService,
 * authorised by the attempt's result token. Data goes in 1 MiB chunks.
 */
import type { ResultServiceClient } from '../common/gen/taskwire/v1/ResultService.js';
import type { BlobChunk__Output } from '../common/gen/taskwire/v1/BlobChunk.js';
import type { TaskBlobs } from './handlers/task-handler.js';

export const BLOB_CHUNK_BYTES = 1024 * 1024;
const BLOB_DEADLINE_MS = 120_000;

export interface BlobIdent {
  task_id: string;
  attempt: number;
  worker_id: string;
  result_token: string;
}

export function grpcTaskBlobs(client: () => ResultServiceClient | undefined, ident: BlobIdent): TaskBlobs {
  const need = (): ResultServiceClient => {
    const c = client();
    if (!c) throw new Error('result service not connected');
    return c;
  };
  return {
    fetch: (id) =>
      new Promise<Buffer>((resolve, reject) => {
        const parts: Buffer[] = [];
        const call = need().FetchBlob({ ...ident, blob_id: id }, { deadline: Date.now() + BLOB_DEADLINE_MS });
        call.on('data', (c: BlobChunk__Output) => parts.push(c.data));
        call.on('error', (err: Error & { details?: string }) => reject(new Error(err.details ?? err.message)));
        call.on('end', () => resolve(Buffer.concat(parts)));
      }),
    put: (data, contentType) =>
      new Promise((resolve, reject) => {
        const call = need().PutBlob({ deadline: Date.now() + BLOB_DEADLINE_MS }, (err, res) =>
          err || !res ? reject(new Error(err?.details ?? 'PutBlob failed')) : resolve({ id: res.blob_id, size: Number(res.size) }),
        );
        call.write({ ...ident, content_type: contentType, data: data.subarray(0, BLOB_CHUNK_BYTES) });
        for (let off = BLOB_CHUNK_BYTES; off < data.length; off += BLOB_CHUNK_BYTES) call.write({ data: data.subarray(off, off + BLOB_CHUNK_BYTES) });
        call.end();
      }),
  };
}
