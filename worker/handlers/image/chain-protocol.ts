/** Messages between the image handler and its chain threads (chain-pool.ts, chain-thread.ts). */
import type { ImageFormat, ImageOp } from '../../../common/kinds/image.js';

export type ToChainThread =
  /** `input`: the bytes (transferred when they own their whole ArrayBuffer, copied otherwise), or a file the thread reads. */
  | { op: 'run'; id: number; input: Uint8Array | { file: string }; ops: readonly ImageOp[]; maxPixels: number }
  | { op: 'cancel'; id: number };

export type FromChainThread =
  /** Sent once, when the thread has loaded sharp and the chain code. */
  | { op: 'ready' }
  | { op: 'done'; id: number; data: Uint8Array; width: number; height: number; format: ImageFormat; contentType: string }
  /** `image`: an ImageError (a bad image or operation, BAD_INPUT); `unread`: the input file could not be read; `aborted`: after a cancel. */
  | { op: 'failed'; id: number; message: string; image: boolean; unread: boolean; aborted: boolean };
