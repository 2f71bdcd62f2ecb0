/**
 * TaskBlobs over gRPC: FetchBlob / PutBlob on the master's ResultService,
 * authorised by the attempt's result token. Data goes in 1 MiB chunks.
 *
 * `localFirst`: a worker on the master's host (or with the master's blob
 * directory mounted, TASKWIRE_BLOB_DIR) reads inputs from the directory
 * itself, one file read instead of a gRPC stream through both processes,
 * and falls back to FetchBlob for a blob that is not there (a PostgreSQL
 * blob store, another master's blob). Outputs still go through PutBlob, so
 * the master records and indexes them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blobSubpath } from '../common/blob-layout.js';
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

export type BlobSource = 'local' | 'master';

/**
 * `inner` with fetches read from `dir` first (none: always `inner`). Only a
 * well-formed id is looked up (no path can be made of it); a missing or
 * unreadable file falls back. `onRead` is told where each fetched blob came
 * from (worker metrics).
 */
export function localFirst(dir: string | undefined, inner: TaskBlobs, onRead?: (source: BlobSource) => void): TaskBlobs {
  return {
    fetch: async (id) => {
      const sub = blobSubpath(id);
      const local = dir !== undefined && sub !== undefined ? await readFile(join(dir, sub)).catch(() => undefined) : undefined;
      if (local) {
        onRead?.('local');
        return local;
      }
      const data = await inner.fetch(id);
      onRead?.('master');
      return data;
    },
    put: (data, contentType) => inner.put(data, contentType),
  };
}
