/**
 * Every master's new rows of a shared PostgreSQL table with an id sequence
 * (the event outbox, the central log), in id order, once each, after they
 * are committed: a LISTEN on the table's channel wakes it (the writers
 * NOTIFY), a poll covers a lost notification or listener, and a read asked
 * for while one runs runs once more after it.
 */
import pg from 'pg';
import { pgClientConfig } from './postgres-writer.js';

export interface PostgresTailOptions<R extends { id: number }, T> {
  pool: pg.Pool;
  url: string;
  /** The NOTIFY channel the writers use. */
  channel: string;
  /** application_name of the listening connection. */
  appName: string;
  /** `SELECT … WHERE id > $1 ORDER BY id LIMIT $2`. */
  select: string;
  map: (rows: R[]) => T;
  /** The newest id already delivered (rows after it are read). */
  lastId: number;
  pageRows?: number;
  pollMs?: number;
}

export class PostgresTail<R extends { id: number }, T> {
  private delivered: number;
  private reading = false;
  private again = false;
  private onRows: ((batch: T) => void) | undefined;
  private listener: pg.Client | undefined;
  private readonly poll: NodeJS.Timeout;
  private closed = false;

  private constructor(private readonly o: PostgresTailOptions<R, T>) {
    this.delivered = o.lastId;
    this.poll = setInterval(() => {
      if (!this.listener) void this.listen().catch(() => undefined);
      this.read();
    }, o.pollMs ?? 1000);
    this.poll.unref();
  }

  static async open<R extends { id: number }, T>(o: PostgresTailOptions<R, T>): Promise<PostgresTail<R, T>> {
    const t = new PostgresTail(o);
    await t.listen();
    return t;
  }

  /** The newest id delivered. */
  get lastId(): number {
    return this.delivered;
  }

  /** Reads what is new (with `onRows`: from now on delivered there). */
  read(onRows?: (batch: T) => void): void {
    if (onRows) this.onRows = onRows;
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.readPages().finally(() => {
      this.reading = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.read();
      }
    });
  }

  private async readPages(): Promise<void> {
    const page = this.o.pageRows ?? 1000;
    try {
      for (;;) {
        const rows = (await this.o.pool.query<R>(this.o.select, [this.delivered, page])).rows;
        if (rows.length === 0 || this.closed) return;
        this.delivered = rows[rows.length - 1]!.id;
        this.onRows?.(this.o.map(rows));
        if (rows.length < page) return;
      }
    } catch {
      // PostgreSQL out of reach: the poll tries again.
    }
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ ...pgClientConfig(this.o.url), application_name: this.o.appName, query_timeout: 0 });
    const lost = () => {
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.read());
    await client.connect();
    await client.query(`LISTEN ${this.o.channel}`);
    if (this.closed) return void client.end().catch(() => undefined);
    this.listener = client;
  }

  /** Stops reading and listening. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
  }
}
