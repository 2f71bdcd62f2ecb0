/**
 * A writer thread for one SQLite file: its own connection (WAL, so the
 * master's thread keeps reading on another), messages in order, one ack
 * per message. The thread's code is a string evaluated by worker_threads
 * (it runs the same from TypeScript sources and from dist/); it gets
 * `db` (open, WAL, synchronous NORMAL, temp_store MEMORY), `workerData`
 * and `handle(message)`, whose return value is the ack's `value`.
 *
 *   const t = new SqliteThread(path, `handle = (m) => insert.run(m)`);
 *   t.send(rows, (ack) => ...);   await t.drain();   await t.close();
 *
 * Failure (the thread threw at start, died, or could not be started) is
 * sticky: every pending and later message is answered with it.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface ThreadAck<V = unknown> {
  value?: V;
  error?: string;
}

const prelude = (body: string) => `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.pragma('temp_store = MEMORY');
let handle = () => undefined;
${body}
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  try {
    parentPort.postMessage({ id: m.id, value: handle(m.body) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

export class SqliteThread<M, V = unknown> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (ack: ThreadAck<V>) => void>();
  private nextId = 1;
  private failure: Error | undefined;
  private idle: (() => void)[] = [];

  constructor(
    path: string,
    body: string,
    data: Record<string, unknown> = {},
    private readonly onFatal?: (err: Error) => void,
  ) {
    const require = createRequire(import.meta.url);
    this.worker = new Worker(prelude(body), { eval: true, workerData: { ...data, path, module: require.resolve('better-sqlite3') } });
    this.worker.on('message', (ack: ThreadAck<V> & { id: number }) => {
      const done = this.pending.get(ack.id);
      this.pending.delete(ack.id);
      done?.(ack);
      if (this.pending.size === 0) this.wake();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0 || code !== 0) this.fail(new Error(`SQLite thread for ${path} exited (code ${code})`));
    });
  }

  /** Messages sent and not yet answered. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  send(body: M, done: (ack: ThreadAck<V>) => void): void {
    if (this.failure) return done({ error: this.failure.message });
    const id = this.nextId++;
    this.pending.set(id, done);
    this.worker.postMessage({ id, body });
  }

  /** Resolves once every message sent so far is answered. */
  drain(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.drain();
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage('close');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const done of this.pending.values()) done({ error: err.message });
    this.pending.clear();
    this.wake();
    this.onFatal?.(err);
  }

  private wake(): void {
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
