/**
 * The read feature of an image task's input (common/kinds/image-read.ts): a
 * FeatureSource for the `image` kind (master/core/feature-source.ts). At
 * submit it reads the first bytes of the blob the input names and tells its
 * format by magic number, so the task needs `read:webp` for a webp input and
 * is placed only on a worker that decodes webp (the Java worker's ImageIO
 * does not). The bytes decide, not the stored content type: `POST /blobs`
 * keeps whatever type the client declared.
 *
 * jpeg, png, an unknown format or a missing blob need nothing: a missing or
 * another tenant's blob is refused by BlobAccessGate or fails on the worker
 * as before, and this source answers the same for it as for no blob at all,
 * so it tells a caller nothing about blobs it may not read.
 */
import type { JsonValue } from '../../common/json-value.js';
import { BLOB_ID, type Blobs } from './blob-store.js';
import { IMAGE_SNIFF_BYTES, imageReadFeatures, sniffImageFormat } from '../../common/kinds/image-read.js';
import type { FeatureSource } from '../core/feature-source.js';

export class BlobReadFeatures implements FeatureSource {
  constructor(private readonly blobs: Pick<Blobs, 'chunks'>) {}

  async features(input: JsonValue): Promise<readonly string[]> {
    const blob = (input as { blob?: unknown } | null)?.blob;
    if (typeof blob !== 'string' || !BLOB_ID.test(blob)) return []; // the kind's schema names the field
    return imageReadFeatures(sniffImageFormat(await this.head(blob)));
  }

  /** The blob's first IMAGE_SNIFF_BYTES (fewer when it is shorter; none when there is no such blob). */
  private async head(id: string): Promise<Uint8Array> {
    try {
      for await (const piece of this.blobs.chunks(id, IMAGE_SNIFF_BYTES)) return Uint8Array.from(piece); // the store may reuse the piece's buffer
      return new Uint8Array(0);
    } catch (err) {
      if ((err as { code?: string }).code === 'BLOB_NOT_FOUND') return new Uint8Array(0);
      throw err;
    }
  }
}
