/**
 * Limits an admin set over REST survive a restart: with a data dir they are
 * kept in `<data dir>/limits.json` (0600, written whole then renamed) and win
 * over TASKWIRE_RATE_LIMITS at start-up until an admin DELETEs them.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../common/errors.js';
import { type LimitsConfig, limitsConfig } from './limit-rules.js';

/** Where an admin's rules are kept: `LimitsFile` (the data dir) or `tw_limit_rules` on PostgreSQL (postgres-limiters.ts: shared by the masters on the database). */
export interface LimitsKeeper {
  load(): LimitsConfig | undefined;
  /** Keeps the rules; a shared keeper resolves once committed and rejects (503) when it could not keep them. */
  save(c: LimitsConfig): void | Promise<void>;
  remove(): void | Promise<void>;
  /** Shared: `listener` is told when another master sets or removes the rules (undefined: back to TASKWIRE_RATE_LIMITS). */
  watch?(listener: (c: LimitsConfig | undefined) => void): void;
}

export class LimitsFile implements LimitsKeeper {
  constructor(readonly path: string) {}

  /** The saved rules, or undefined; a damaged file stops start-up naming it. */
  load(): LimitsConfig | undefined {
    if (!existsSync(this.path)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new ConfigError(this.path, `not valid JSON (${(err as Error).message}); fix or delete it`);
    }
    const parsed = limitsConfig.safeParse(json);
    if (!parsed.success) throw new ConfigError(this.path, `${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}; fix or delete it`);
    return parsed.data;
  }

  save(c: LimitsConfig): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}
