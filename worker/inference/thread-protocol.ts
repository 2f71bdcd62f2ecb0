/**
 * Messages between the engine (main thread) and a session thread
 * (session-thread.ts). Tensors travel as WireTensor with their ArrayBuffers
 * in the transfer list, so nothing is copied.
 */
import type { OrtType, WireFeeds } from './wire-tensor.js';

export interface ThreadLoadOptions {
  modelPath: string;
  intraOpThreads: number;
  /** "cuda" tries CUDA first and falls back to CPU inside the thread. */
  executionProvider: 'cpu' | 'cuda';
  /** Size used for dynamic dims other than the batch dim during warm-up. */
  warmupDim: number;
}

export interface ThreadValueMetadata {
  name: string;
  /** onnxruntime element type, or "" for a non-tensor value. */
  type: OrtType | '';
  /** -1 for a dynamic (symbolic) dim. */
  shape: number[];
}

export type ToThread =
  | { op: 'load'; options: ThreadLoadOptions }
  | { op: 'run'; id: number; feeds: WireFeeds }
  | { op: 'close' };

export type FromThread =
  | {
      op: 'loaded';
      inputs: ThreadValueMetadata[];
      outputs: ThreadValueMetadata[];
      executionProvider: 'cpu' | 'cuda';
      /** Why CUDA was not used, when it was asked for. */
      fallbackReason?: string;
      warmupError?: string;
      loadMs: number;
    }
  | { op: 'load-error'; message: string }
  | { op: 'result'; id: number; outputs: WireFeeds }
  | { op: 'error'; id: number; message: string }
  | { op: 'closed' };
