/**
 * A real PostgreSQL server for store tests: `initdb` into a temp dir, then
 * `postgres` on a free 127.0.0.1 port with its unix socket in the same temp
 * dir, trust authentication (test only), fsync on (durability tests mean it).
 * The Debian package's binaries are used directly (never the system service).
 * As root (CI), the server runs as the `postgres` user: PostgreSQL refuses root.
 *
 *   if (!postgresAvailable()) ...skip with postgresMissingReason()
 *   const pg = await Postgres.start();
 *   const url = await pg.createDatabase();   // postgres://postgres@127.0.0.1:<port>/<fresh db>
 *   await pg.restart();                      // same port and data
 *   await pg.close();                        // stops it and removes the temp dir
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, waitForTcp } from './mosquitto.js';
import { type ManagedProcess, ProcessGroup } from './processes.js';

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin dir (/usr/lib/postgresql/<major>/bin), or undefined. */
/** One statement on its own connection (a test's look at the database): its rows. */
export async function queryRows<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const majors = readdirSync(PG_ROOT)
    .filter((d) => /^\d+$/.test(d) && existsSync(join(PG_ROOT, d, 'bin', 'postgres')) && existsSync(join(PG_ROOT, d, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(PG_ROOT, majors[0], 'bin');
}

/** True when the Debian postgresql server binaries are installed (CI installs them). */
export function postgresAvailable(): boolean {
  return postgresBinDir() !== undefined && (process.getuid?.() !== 0 || postgresUid() !== undefined);
}

/** Why PostgreSQL tests skip here. */
export function postgresMissingReason(): string {
  return `no PostgreSQL server binaries under ${PG_ROOT}/*/bin (Debian package postgresql; .ci/run installs it)`;
}

function postgresUid(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** As root, a command line that runs `bin` as the postgres user (setpriv execs: the pid is the server's). */
function asServerUser(bin: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [bin, args];
  return ['/usr/bin/setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', bin, ...args]];
}

export interface PostgresOptions {
  /** How long start() waits for the server (default 30 s). */
  startTimeoutMs?: number;
  /** Echo the server log to stderr (debugging). */
  echo?: boolean;
  /** More server settings (`-c name=value`), e.g. `{ shared_preload_libraries: 'pg_stat_statements' }`. */
  settings?: Record<string, string>;
}

export class Postgres {
  private proc: ManagedProcess | undefined;
  private readonly processes = new ProcessGroup();
  private closed = false;
  private dbSeq = 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly options: PostgresOptions,
  ) {}

  static async start(options: PostgresOptions = {}): Promise<Postgres> {
    const bin = postgresBinDir();
    if (!bin) throw new Error(postgresMissingReason());
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-postgres-'));
    const owner = process.getuid?.() === 0 ? postgresUid() : undefined;
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const server = new Postgres(dir, await freePort(), bin, options);
    try {
      const [cmd, args] = asServerUser(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
      execFileSync(cmd, args, { stdio: 'pipe' });
      await server.launch();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  private async launch(): Promise<void> {
    const [cmd, args] = asServerUser(join(this.bin, 'postgres'), [
      '-D', join(this.dir, 'data'), '-h', '127.0.0.1', '-p', String(this.port), '-k', this.dir,
      '-c', 'max_connections=200', '-c', 'shared_buffers=32MB', '-c', 'log_min_messages=warning',
      ...Object.entries(this.options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ]);
    const proc = this.processes.spawn(`postgres:${this.port}`, cmd, args, { echo: this.options.echo });
    this.proc = proc;
    try {
      await waitForTcp('127.0.0.1', this.port, this.options.startTimeoutMs ?? 30_000, () => proc.running);
      // The port opens before recovery ends: wait until a query runs.
      const until = Date.now() + (this.options.startTimeoutMs ?? 30_000);
      for (;;) {
        try {
          await this.query('SELECT 1');
          break;
        } catch (err) {
          if (Date.now() > until || !proc.running) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } catch (err) {
      await proc.stop(1000);
      throw new Error(`postgres did not start: ${(err as Error).message}\n--- postgres output ---\n${proc.output()}`);
    }
  }

  /** Runs one statement on the `postgres` database. */
  async query(sql: string, database = 'postgres'): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }

  /** Creates a fresh database and returns its URL. */
  async createDatabase(name = `taskwire_${process.pid}_${++this.dbSeq}`): Promise<string> {
    await this.query(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /** Server log (this run). */
  output(): string {
    return this.proc?.output(2000) ?? '';
  }

  /** Fast shutdown (SIGINT: disconnects clients, checkpoints). */
  async stop(): Promise<void> {
    if (!this.proc?.running) return;
    this.proc.signal('SIGINT');
    await this.proc.waitForExit(15_000).catch(() => this.proc?.kill9());
  }

  /** A server crash: SIGKILL of the postmaster (restart recovers from the WAL). */
  async kill9(): Promise<void> {
    if (this.proc?.running) await this.proc.kill9();
  }

  /** Starts it again on the same port and data (stops it first if running). */
  async restart(): Promise<void> {
    if (this.closed) throw new Error('Postgres.restart() after close()');
    await this.stop();
    await this.launch();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop().catch(() => undefined);
    await this.processes.stopAll(3000);
    await rm(this.dir, { recursive: true, force: true });
  }
}
