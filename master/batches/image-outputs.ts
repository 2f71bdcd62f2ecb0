/**
 * Outputs of image chains remembered across batches: an output is kept under
 * a hash of input blob and chain (`outputKey`) in the blob store, so an image
 * already done (in this batch, an earlier one, or in flight elsewhere) is not
 * processed again.
 */
import type { Logger } from '../../common/logger.js';
import type { ImageOp, ImageOutput } from '../../common/kinds/image.js';
import { sha256Hex, type Blobs } from '../blobs/blob-store.js';

/** A remembered output and the worker that made it. */
export interface DerivedOutput {
  output: ImageOutput;
  worker_id: string | null;
}

/** The name of an output: hash of the input blob and the canonical chain. */
export function outputKey(blob: string, ops: readonly ImageOp[]): string {
  return sha256Hex(`${blob}\n${JSON.stringify(ops)}`);
}

export class ImageOutputs {
  constructor(
    private readonly blobs: Blobs,
    private readonly log: Logger,
  ) {}

  /** The output remembered under `key`, when its blob is still there. */
  async lookup(key: string): Promise<DerivedOutput | undefined> {
    const raw = await this.blobs.derived(key);
    if (!raw) return undefined;
    try {
      const d = JSON.parse(raw) as DerivedOutput;
      return (await this.blobs.has(d.output.blob)) ? d : undefined;
    } catch {
      return undefined;
    }
  }

  /** Remembers an output under `key` (in the background; a failure is logged). */
  remember(key: string, record: DerivedOutput): void {
    this.blobs.link(key, JSON.stringify(record)).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'could not record an image output'));
  }
}
