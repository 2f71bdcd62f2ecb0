/**
 * Is the database file the master opened still the one on disk, and can it
 * still be written? SQLite keeps writing to an open file descriptor after the
 * file was deleted or replaced (the writes succeed and are lost), so the
 * store checks the path itself before it acknowledges a commit and on a
 * timer: deleted, replaced (another inode), or made read-only (the owner's
 * write bit cleared or no write access, on the file or its directory).
 * Write errors (full disk, I/O error, read-only mount) come from SQLite itself.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { TaskwireError } from '../../common/errors.js';

/** The durable store cannot keep what it is given: submits are refused (HTTP 503). */
export class StoreUnavailableError extends TaskwireError {
  constructor(readonly reason: string) {
    super('UNAVAILABLE', `the task store cannot be written (${reason}): submits are refused`);
    this.name = 'StoreUnavailableError';
  }
}

function writable(path: string, st: Stats): boolean {
  if ((st.mode & 0o200) === 0) return false;
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export class StoreFileCheck {
  private readonly dev: number;
  private readonly ino: number;

  constructor(private readonly path: string) {
    const st = statSync(path);
    this.dev = st.dev;
    this.ino = st.ino;
  }

  /** What is wrong with the file, or undefined when it is the one opened and writable. */
  problem(): string | undefined {
    let st: Stats;
    try {
      st = statSync(this.path);
    } catch (err) {
      return `database file ${this.path} is gone (${(err as NodeJS.ErrnoException).code ?? 'stat failed'})`;
    }
    if (st.dev !== this.dev || st.ino !== this.ino) return `database file ${this.path} was replaced by another file`;
    if (!writable(this.path, st)) return `database file ${this.path} is read-only`;
    const dir = dirname(this.path);
    try {
      if (!writable(dir, statSync(dir))) return `data directory ${dir} is read-only`;
    } catch (err) {
      return `data directory ${dir} is gone (${(err as NodeJS.ErrnoException).code ?? 'stat failed'})`;
    }
    return undefined;
  }
}
