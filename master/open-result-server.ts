/**
 * The gRPC ResultService as the master starts it: results to the result
 * intake, and FetchBlob / PutBlob for an unfinished attempt with its result
 * token, a fetch only of the blob its task's input names.
 */
import type { Logger } from '../common/logger.js';
import type { ResolvedMasterOptions } from './config.js';
import type { Blobs } from './blobs/blob-store.js';
import type { ResultIntake } from './core/result-intake.js';
import type { TaskService } from './core/task-service.js';
import { blobHandlers } from './transport/blob-service.js';
import { ResultServer } from './transport/result-server.js';

export interface ResultServerParts {
  intake: ResultIntake;
  tasks: TaskService;
  blobs: Blobs;
  log: Logger;
  onInvalid: () => void;
}

/** Starts the ResultService on `grpcPort`; resolves once it listens. */
export function openResultServer(o: ResolvedMasterOptions, { intake, tasks, blobs, log, onInvalid }: ResultServerParts): Promise<ResultServer> {
  return ResultServer.create({
    host: o.bindHost,
    port: o.grpcPort,
    tasks: intake,
    blobs: blobHandlers({
      blobs,
      log,
      // An unfinished attempt with its token; a fetch only of the blob its input names.
      authorize: (ident, blob) => {
        const out = intake.secretsFor(ident);
        if ('disposition' in out) return out.reason;
        if (blob !== undefined && (tasks.get(ident.task_id)?.input as { blob?: unknown } | null)?.blob !== blob) return `task ${ident.task_id} does not name blob ${blob}`;
        return undefined;
      },
      tenantOf: (ident) => tasks.get(ident.task_id)?.tenant, // what an image task puts is its tenant's
    }),
    log,
    onInvalid,
  });
}
