/** Messages between the image handler and its chain threads (chain-pool.ts, chain-thread.ts). */
import type { ImageFormat, ImageOp } from '../../../common/kinds/image.js';

export type ToChainThread =
  /** `input` is transferred when it owns its whole ArrayBuffer, copied otherwise. */
  | { op: 'run'; id: number; input: Uint8Array; ops: readonly ImageOp[]; maxPixels: number }
  | { op: 'cancel'; id: number };

export type FromChainThread =
  | { op: 'done'; id: number; data: Uint8Array; width: number; height: number; format: ImageFormat; contentType: string }
  /** `image`: an ImageError (a bad image or operation, BAD_INPUT); `aborted`: after a cancel. */
  | { op: 'failed'; id: number; message: string; image: boolean; aborted: boolean };
