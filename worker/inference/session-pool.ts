/**
 * A small pool of session threads for one model version: `instanceCount`
 * worker threads, each with its own InferenceSession. run() goes to an idle
 * thread (or waits for one) after taking its cores from the CoreBudget. A
 * thread that dies fails only its own request and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { ClosedError } from '../../common/errors.js';
import type { CoreBudget } from './core-budget.js';
import type { FromThread, ThreadLoadOptions, ThreadValueMetadata, ToThread } from './thread-protocol.js';
import { resolveThreadEntry } from './thread-entry.js';
import type { WireFeeds } from './wire-tensor.js';

export interface SessionPoolOptions {
  load: ThreadLoadOptions;
  instanceCount: number;
  budget: CoreBudget;
  /** Graceful close: how long a thread may take to release its session. */
  closeTimeoutMs: number;
  /** Called when a thread dies unexpectedly (it is replaced). */
  onThreadError?: (err: Error) => void;
}

export class ModelLoadError extends Error {
  readonly code = 'MODEL_LOAD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

export class SessionRunError extends Error {
  readonly code = 'SESSION_RUN';
  constructor(message: string) {
    super(message);
    this.name = 'SessionRunError';
  }
}

type Loaded = Extract<FromThread, { op: 'loaded' }>;

interface Slot {
  worker: Worker;
  busy: boolean;
  detach(): void;
  current?: { id: number; resolve(o: WireFeeds): void; reject(e: Error): void; settled: Promise<void> };
}

function spawn(entry: URL, load: ThreadLoadOptions): Promise<{ worker: Worker; loaded: Loaded }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(entry);
    // remove only our own listeners: removeAllListeners() would also drop the
    // hooks with which a Worker restarts its message port for new listeners
    const detach = (): void => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.off('message', onMessage);
    };
    const fail = (err: Error): void => {
      detach();
      void worker.terminate();
      reject(err);
    };
    const onError = (err: Error): void => fail(new ModelLoadError(`session thread failed: ${err.message}`, { cause: err }));
    const onExit = (code: number): void => fail(new ModelLoadError(`session thread exited with code ${code} while loading`));
    const onMessage = (msg: FromThread): void => {
      if (msg.op === 'loaded') {
        detach();
        resolve({ worker, loaded: msg });
      } else {
        fail(new ModelLoadError(msg.op === 'load-error' ? msg.message : `unexpected ${msg.op} while loading`));
      }
    };
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.on('message', onMessage);
    worker.postMessage({ op: 'load', options: load } satisfies ToThread);
  });
}

export class SessionPool {
  readonly inputs: ThreadValueMetadata[];
  readonly outputs: ThreadValueMetadata[];
  readonly executionProvider: 'cpu' | 'cuda';
  readonly fallbackReason: string | undefined;
  readonly warmupError: string | undefined;
  readonly loadMs: number;
  private readonly opts: SessionPoolOptions;
  private readonly entry: URL;
  private readonly slots: Slot[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;
  private closing: Promise<void> | undefined;

  private constructor(opts: SessionPoolOptions, entry: URL, first: Loaded) {
    this.opts = opts;
    this.entry = entry;
    this.inputs = first.inputs;
    this.outputs = first.outputs;
    this.executionProvider = first.executionProvider;
    this.fallbackReason = first.fallbackReason;
    this.warmupError = first.warmupError;
    this.loadMs = first.loadMs;
  }

  static async create(opts: SessionPoolOptions): Promise<SessionPool> {
    const entry = await resolveThreadEntry();
    const count = Math.max(1, opts.instanceCount);
    const started = await Promise.allSettled(Array.from({ length: count }, () => spawn(entry, opts.load)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (failed || ok.length === 0) {
      await Promise.all(ok.map((s) => s.worker.terminate()));
      throw failed?.reason instanceof Error ? failed.reason : new ModelLoadError(String(failed?.reason));
    }
    const pool = new SessionPool(opts, entry, ok[0]!.loaded);
    for (const s of ok) pool.adopt(s.worker);
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  async run(feeds: WireFeeds): Promise<WireFeeds> {
    if (this.closing) throw new ClosedError('model session pool');
    const release = await this.opts.budget.acquire(this.opts.load.intraOpThreads);
    try {
      const slot = await this.idleSlot();
      return await this.runOn(slot, feeds);
    } finally {
      release();
    }
  }

  /**
   * Lets running requests finish (up to closeTimeoutMs), asks each thread to
   * release its session, then terminates stragglers. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const w of this.waiting.splice(0)) w();
      await Promise.all(
        this.slots.splice(0).map(async (s) => {
          if (s.current) {
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([s.current.settled, new Promise<void>((r) => (timer = setTimeout(r, this.opts.closeTimeoutMs)))]);
            clearTimeout(timer);
          }
          s.detach();
          s.current?.reject(new ClosedError('model session pool'));
          const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
          s.worker.postMessage({ op: 'close' } satisfies ToThread);
          const timer = setTimeout(() => void s.worker.terminate(), this.opts.closeTimeoutMs);
          timer.unref();
          await exited;
          clearTimeout(timer);
        }),
      );
    })();
    return this.closing;
  }

  private adopt(worker: Worker): void {
    const onMessage = (msg: FromThread): void => {
      const cur = slot.current;
      if (!cur) return;
      if (msg.op === 'result' && msg.id === cur.id) cur.resolve(msg.outputs);
      else if (msg.op === 'error' && msg.id === cur.id) cur.reject(new SessionRunError(msg.message));
    };
    const died = (err: Error): void => {
      slot.detach();
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.current?.reject(new SessionRunError(`session thread died: ${err.message}`));
      if (this.closing) return;
      this.opts.onThreadError?.(err);
      void spawn(this.entry, this.opts.load).then(
        (s) => (this.closing ? void s.worker.terminate() : this.adopt(s.worker)),
        (e: Error) => this.opts.onThreadError?.(e),
      );
    };
    const onExit = (code: number): void => died(new Error(`exit code ${code}`));
    const slot: Slot = {
      worker,
      busy: false,
      detach: () => {
        worker.off('message', onMessage);
        worker.off('error', died);
        worker.off('exit', onExit);
      },
    };
    worker.on('message', onMessage);
    worker.on('error', died);
    worker.on('exit', onExit);
    this.slots.push(slot);
    this.wake();
  }

  private wake(): void {
    this.waiting.shift()?.();
  }

  private async idleSlot(): Promise<Slot> {
    for (;;) {
      if (this.closing) throw new ClosedError('model session pool');
      const slot = this.slots.find((s) => !s.busy);
      if (slot) return slot;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private runOn(slot: Slot, feeds: WireFeeds): Promise<WireFeeds> {
    slot.busy = true;
    const id = this.nextId++;
    const transfer = [...new Set(Object.values(feeds).map((t) => t.data))];
    let settle!: () => void;
    const settled = new Promise<void>((r) => (settle = r));
    return new Promise<WireFeeds>((resolve, reject) => {
      const done = (): void => {
        slot.current = undefined;
        slot.busy = false;
        settle();
        this.wake();
      };
      slot.current = {
        id,
        settled,
        resolve: (o) => {
          done();
          resolve(o);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      slot.worker.postMessage({ op: 'run', id, feeds } satisfies ToThread, transfer);
    });
  }
}
