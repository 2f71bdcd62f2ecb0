/**
 * Runs image chains on worker threads (chain-thread.ts): one thread per
 * image being processed at once, started on first use and kept for the next
 * image (a worker of capacity N keeps at most N). A thread that dies fails
 * only its own image (retryable) and is not reused. Threads are unref'd: an
 * idle pool never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../../../common/thread-entry.js';
import type { ImageOp } from '../../../common/kinds/image.js';
import { ImageError, type ChainResult, type ImageOpsOptions } from './image-ops.js';
import type { FromChainThread, ToChainThread } from './chain-protocol.js';

/** A chain thread died or could not start: not the image's fault. */
export class ChainThreadError extends Error {
  readonly code = 'CHAIN_THREAD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChainThreadError';
  }
}

interface Job {
  id: number;
  resolve(r: ChainResult): void;
  reject(e: Error): void;
  signal: AbortSignal | undefined;
}

interface Thread {
  worker: Worker;
  job?: Job;
}

export class ChainPool {
  private readonly idle: Thread[] = [];
  private readonly busy = new Set<Thread>();
  private nextId = 1;
  private closed = false;

  /** Threads started so far that are still alive (for tests and metrics). */
  get threads(): number {
    return this.idle.length + this.busy.size;
  }

  /** Runs `ops` on `input`: the encoded bytes, or a file the thread reads itself (its bytes then never touch this isolate). */
  async run(input: Buffer | { file: string }, ops: readonly ImageOp[], options: ImageOpsOptions, signal?: AbortSignal): Promise<ChainResult> {
    if (this.closed) throw new ChainThreadError('the image handler is closed');
    signal?.throwIfAborted();
    const thread = this.idle.pop() ?? (await this.start());
    this.busy.add(thread);
    const id = this.nextId++;
    // A buffer that owns its memory moves to the thread; a view into a shared one (small, pooled) is copied.
    const bytes = Buffer.isBuffer(input) ? input : undefined;
    const owns = bytes !== undefined && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    const view = bytes ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : (input as { file: string });
    return new Promise<ChainResult>((resolve, reject) => {
      const onAbort = (): void => thread.worker.postMessage({ op: 'cancel', id } satisfies ToChainThread);
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (): void => signal?.removeEventListener('abort', onAbort);
      thread.job = {
        id,
        signal,
        resolve: (r) => (settle(), resolve(r)),
        reject: (e) => (settle(), reject(e)),
      };
      thread.worker.ref();
      thread.worker.postMessage({ op: 'run', id, input: view, ops, maxPixels: options.maxPixels } satisfies ToChainThread, owns ? [bytes.buffer as ArrayBuffer] : []);
    });
  }

  /**
   * Starts one thread ahead of the first image (the worker's handler start,
   * once it is online) and resolves once it has loaded sharp, so the first
   * image does not pay for the thread's start-up (~100 ms of CPU).
   */
  async warm(): Promise<void> {
    if (this.closed || this.threads > 0) return;
    const thread = await this.start();
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: FromChainThread): void => {
        if (msg.op !== 'ready') return;
        off();
        resolve();
      };
      const onExit = (code: number): void => {
        off();
        reject(new ChainThreadError(`the image thread exited with code ${code} while starting`));
      };
      const off = (): void => {
        thread.worker.off('message', onMessage);
        thread.worker.off('exit', onExit);
      };
      thread.worker.on('message', onMessage);
      thread.worker.on('exit', onExit);
    });
    if (!this.closed) this.idle.push(thread);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    await Promise.all(all.map((t) => t.worker.terminate()));
  }

  private async start(): Promise<Thread> {
    let worker: Worker;
    try {
      worker = new Worker(await threadEntry(import.meta.url, 'chain-thread'));
    } catch (err) {
      throw new ChainThreadError(`could not start an image thread: ${(err as Error).message}`, { cause: err });
    }
    const thread: Thread = { worker };
    worker.unref();
    worker.on('message', (msg: FromChainThread) => this.finished(thread, msg));
    const died = (why: string): void => {
      this.busy.delete(thread);
      const i = this.idle.indexOf(thread);
      if (i >= 0) this.idle.splice(i, 1);
      const job = thread.job;
      thread.job = undefined;
      if (job && !this.closed) job.reject(new ChainThreadError(`the image thread ${why}`));
      else if (job) job.reject(new ChainThreadError('the image handler is closed'));
    };
    worker.on('error', (err: Error) => died(`failed: ${err.message}`));
    worker.on('exit', (code: number) => died(`exited with code ${code}`));
    return thread;
  }

  private finished(thread: Thread, msg: FromChainThread): void {
    if (msg.op === 'ready') return;
    const job = thread.job;
    if (!job || job.id !== msg.id) return;
    thread.job = undefined;
    thread.worker.unref();
    this.busy.delete(thread);
    if (!this.closed) this.idle.push(thread);
    if (msg.op === 'done') {
      const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      job.resolve({ data, width: msg.width, height: msg.height, format: msg.format, contentType: msg.contentType });
    } else if (msg.aborted && job.signal?.aborted) {
      job.reject(job.signal.reason instanceof Error ? job.signal.reason : new Error(String(job.signal.reason)));
    } else if (msg.unread) {
      job.reject(new ChainThreadError(`could not read the input: ${msg.message}`));
    } else {
      job.reject(msg.image ? new ImageError(msg.message) : new Error(msg.message));
    }
  }
}
