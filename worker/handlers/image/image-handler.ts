/**
 * Task kind `image`: fetches the input blob from the master (gRPC
 * FetchBlob), runs the chain with sharp and stores the result (PutBlob).
 * One image at a time per process: sharp.concurrency(1) and no operation
 * cache, against glibc's memory fragmentation with libvips (sharp#2607);
 * run workers with jemalloc (LD_PRELOAD) or MALLOC_ARENA_MAX=2 for a steady
 * RSS. Bad images are a BAD_INPUT failure, never a crash.
 */
import sharp from 'sharp';
import { IMAGE_FORMATS, allImageFeatures, imageInput, type ImageOutput } from '../../../common/kinds/image.js';
import { TaskFailure, parseTaskInput, type TaskContext, type TaskHandler, type TaskOutput } from '../task-handler.js';
import { ImageError, runChain } from './image-ops.js';
import type { AdvertisesFeatures } from '../handler-features.js';
import { IMAGE_READ_FORMATS } from '../../../common/kinds/image-read.js';

export interface ImageHandlerOptions {
  /** Largest width x height an image may have (default 100 M pixels: a 4K image is 8.3 M). */
  maxPixels?: number;
}

export const IMAGE_DEFAULTS = { maxPixels: 100_000_000 } as const;

export class ImageHandler implements TaskHandler, AdvertisesFeatures {
  readonly kind = 'image';
  private readonly maxPixels: number;

  constructor(options: ImageHandlerOptions = {}) {
    this.maxPixels = options.maxPixels ?? IMAGE_DEFAULTS.maxPixels;
    sharp.concurrency(1);
    sharp.cache(false);
  }

  /**
   * Every operation, the output formats this sharp build writes and the input
   * formats it reads from a buffer (AVIF is libheif's `heif`; `image:read:heif`,
   * HEIC, is never claimed: a prebuilt libheif decodes AV1 only, and sharp does
   * not say which decoders it has).
   */
  features(): string[] {
    const f = sharp.format as unknown as Record<string, { input?: { buffer?: boolean }; output?: { buffer?: boolean } } | undefined>;
    const lib = (n: string): string => (n === 'avif' ? 'heif' : n);
    const reads = IMAGE_READ_FORMATS.filter((n) => n !== 'heif' && (f[lib(n)]?.input?.buffer ?? false));
    return allImageFeatures(IMAGE_FORMATS.filter((n) => (f[lib(n)]?.output?.buffer ?? false)), reads);
  }

  async run(ctx: TaskContext): Promise<TaskOutput> {
    const input = parseTaskInput(imageInput, ctx.input);
    const blobs = ctx.blobs;
    if (!blobs) throw new TaskFailure('UNSUPPORTED', 'this worker has no blob access to the master');
    const started = performance.now();
    let data: Buffer;
    try {
      data = await blobs.fetch(input.blob);
    } catch (err) {
      throw new TaskFailure('INTERNAL', `input.blob: could not fetch (${(err as Error).message})`, { retryable: true, cause: err });
    }
    let result;
    try {
      result = await runChain(data, input.ops, { maxPixels: this.maxPixels }, ctx.signal);
    } catch (err) {
      if (err instanceof ImageError) throw new TaskFailure('BAD_INPUT', err.message, { cause: err });
      throw err;
    }
    const stored = await blobs.put(result.data, result.contentType);
    const output: ImageOutput = {
      blob: stored.id,
      bytes: stored.size,
      width: result.width,
      height: result.height,
      format: result.format,
      content_type: result.contentType,
      ms: Math.round(performance.now() - started),
    };
    return { output: { ...output } };
  }
}
