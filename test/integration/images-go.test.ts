/**
 * The Go worker's `image` kind (standard library + golang.org/x/image) on a
 * real image batch: a master process from dist/ and only the Go worker
 * serving `image`; a multipart batch through POST /api/v1/images fans out to
 * it, it fetches every input with gRPC FetchBlob, runs the chain in order
 * and stores the output with PutBlob (an output over 1 MiB: several chunks);
 * the stored outputs have the asked format and size. A non-image input and a
 * crop outside the image fail with BAD_INPUT in one attempt and the worker
 * goes on; it advertises png and jpeg only, so the master refuses a webp or
 * avif chain (400) rather than place it on the Go worker.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { GO_OFFLINE_ENV, GO_WORKER_DIR, goMissing } from '../conformance/worker-implementations.js';
import { imageWorkerSuite } from './image-worker-suite.js';

imageWorkerSuite({
  language: 'Go',
  missing: goMissing(),
  runScript: join(GO_WORKER_DIR, 'run.sh'),
  build: () => execFileSync(join(GO_WORKER_DIR, 'build.sh'), [], { stdio: 'pipe', timeout: 300_000, env: GO_OFFLINE_ENV }),
  setupTimeoutMs: 360_000,
});
