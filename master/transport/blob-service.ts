/**
 * The blob half of taskwire.v1.ResultService: FetchBlob (server stream) and
 * PutBlob (client stream), so images never travel on MQTT. A call is allowed
 * only for an unfinished attempt holding its result token (`authorize`).
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import type { BlobChunk } from '../../common/gen/taskwire/v1/BlobChunk.js';
import type { FetchBlobRequest__Output } from '../../common/gen/taskwire/v1/FetchBlobRequest.js';
import type { PutBlobChunk__Output } from '../../common/gen/taskwire/v1/PutBlobChunk.js';
import type { PutBlobResponse } from '../../common/gen/taskwire/v1/PutBlobResponse.js';
import { BlobNotFoundError, BlobTooLargeError, type Blobs } from '../blobs/blob-store.js';

export const BLOB_CHUNK_BYTES = 1024 * 1024;

export interface BlobIdent {
  task_id: string;
  attempt: number;
  worker_id: string;
  result_token: string;
}

export interface BlobServiceOptions {
  blobs: Blobs;
  /** Why the attempt may not touch blobs (bad token, finished, ...), or undefined when it may; `blobId` for fetches. */
  authorize: (ident: BlobIdent, blobId?: string) => string | undefined;
  /** The tenant of the attempt's task: a blob it puts is readable by that tenant (blob-store.ts). */
  tenantOf?: (ident: BlobIdent) => string | undefined;
  log: Logger;
}

type Fail = { code: grpc.status; details: string };
const fail = (code: grpc.status, details: string): Fail => ({ code, details });

/**
 * Streams blob `id` in BLOB_CHUNK_BYTES pieces read into one reused buffer
 * (Blobs.chunks): each piece is written and its write callback awaited
 * (grpc-js has serialized it by then) before the buffer is filled again, so
 * a 5 MB image costs the master one 1 MiB read buffer instead of a 5 MB one,
 * and the call follows the client's flow control.
 */
async function sendBlob(call: grpc.ServerWritableStream<FetchBlobRequest__Output, BlobChunk>, blobs: Blobs, id: string): Promise<void> {
  const info = await blobs.info(id);
  // A cancelled call never calls back a pending write: stop waiting then (and close the file).
  const cancelled = new Promise<void>((resolve) => call.once('cancelled', () => resolve()));
  const write = (msg: BlobChunk) =>
    Promise.race([new Promise<void>((resolve, reject) => call.write(msg, (err?: Error | null) => (err ? reject(err) : resolve()))), cancelled]);
  let first = true;
  for await (const piece of blobs.chunks(id, BLOB_CHUNK_BYTES)) {
    if (call.cancelled) return;
    await write(first ? { data: piece, content_type: info.contentType, size: info.size } : { data: piece });
    first = false;
  }
  if (first) await write({ data: Buffer.alloc(0), content_type: info.contentType, size: info.size }); // an empty blob: one chunk
  call.end();
}

export function blobHandlers({ blobs, authorize, tenantOf, log }: BlobServiceOptions) {
  return {
    FetchBlob(call: grpc.ServerWritableStream<FetchBlobRequest__Output, BlobChunk>) {
      const r = call.request;
      const denied = authorize(r, r.blob_id);
      if (denied) {
        call.emit('error', fail(grpc.status.PERMISSION_DENIED, denied)); // ends the call with this status
        return;
      }
      void sendBlob(call, blobs, r.blob_id).catch((err: unknown) => {
        if (call.cancelled) return;
        const e = err instanceof BlobNotFoundError ? fail(grpc.status.NOT_FOUND, err.message) : fail(grpc.status.INTERNAL, 'blob read failed');
        if (!(err instanceof BlobNotFoundError)) log.error({ err: (err as Error).message }, 'blob read failed');
        call.emit('error', e);
      });
    },
    PutBlob(call: grpc.ServerReadableStream<PutBlobChunk__Output, PutBlobResponse>, callback: grpc.sendUnaryData<PutBlobResponse>) {
      const parts: Buffer[] = [];
      let size = 0;
      let contentType = '';
      let tenant: string | undefined;
      let first = true;
      let done = false;
      const finish = (err: Fail | null, res?: PutBlobResponse) => {
        if (done) return;
        done = true;
        callback(err as grpc.ServiceError | null, res ?? null);
      };
      call.on('data', (c: PutBlobChunk__Output) => {
        if (done) return;
        if (first) {
          first = false;
          const denied = authorize(c);
          if (denied) return finish(fail(grpc.status.PERMISSION_DENIED, denied));
          contentType = c.content_type;
          tenant = tenantOf?.(c);
        }
        size += c.data.length;
        if (size > blobs.maxBytes) return finish(fail(grpc.status.RESOURCE_EXHAUSTED, new BlobTooLargeError(blobs.maxBytes).message));
        parts.push(c.data);
      });
      call.on('end', () => {
        if (done) return;
        if (first) return finish(fail(grpc.status.INVALID_ARGUMENT, 'PutBlob without a first message'));
        blobs.put(Buffer.concat(parts, size), contentType, tenant).then(
          (info) => finish(null, { blob_id: info.id, size: info.size }),
          (err: unknown) => {
            log.error({ err: (err as Error).message }, 'blob write failed');
            finish(fail(grpc.status.INTERNAL, 'blob write failed'));
          },
        );
      });
      call.on('error', () => undefined);
    },
  };
}
