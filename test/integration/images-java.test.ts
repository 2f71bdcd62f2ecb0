/**
 * The Java worker's `image` kind (javax.imageio + java.awt.image, headless) on a
 * real image batch: a master process from dist/ and only the Java worker
 * serving `image`; a multipart batch through POST /api/v1/images fans out to
 * it, it fetches every input with gRPC FetchBlob, runs the chain in order
 * and stores the output with PutBlob (an output over 1 MiB: several chunks);
 * the stored outputs have the asked format and size. A non-image input and a
 * crop outside the image fail with BAD_INPUT in one attempt and the worker
 * goes on; it advertises png and jpeg only, so the master refuses a webp or
 * avif chain (400) rather than place it on the Java worker. The jar is the
 * one `mvn -B -q package` builds in worker/java (tests never run Maven).
 */
import { join } from 'node:path';
import { JAVA_WORKER_DIR, javaMissing } from '../conformance/worker-implementations.js';
import { imageWorkerSuite } from './image-worker-suite.js';

imageWorkerSuite({ language: 'Java', missing: javaMissing(), runScript: join(JAVA_WORKER_DIR, 'run.sh'), setupTimeoutMs: 120_000 });
