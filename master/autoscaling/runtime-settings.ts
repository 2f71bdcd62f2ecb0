/**
 * Settings an operator changes at run time: placement (a strategy per scope,
 * slow start) and autoscaling policies. Every change is audited: a
 * `config.changed` event on the task event stream (who, role, what, before,
 * after; durable with the event outbox, on `GET /api/v1/events`). With a
 * data dir the changes are kept in `<data dir>/runtime-settings.json`
 * (0600, replaced atomically) and applied again over the start-up
 * configuration after a restart. With a PostgreSQL store the placement part
 * (strategies, slow start) is the cluster's: kept in the database
 * (`tw_placement_settings`, store/postgres-setting-row.ts), answered once
 * committed (503 and nothing changed when it cannot be), and taken up by
 * every other master within about 2 s. Autoscaling policies stay a master's
 * own: each master's autoscaler scales from its own queue.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../common/logger.js';
import { ConfigError, ValidationError } from '../../common/errors.js';
import type { TaskEvents } from '../core/task-events.js';
import type { PlacementRouter } from '../scheduling/placement/placement-router.js';
import type { Autoscaler } from './autoscaler.js';
import { checkPool, resolveScalingPolicy, type ScalingPolicy } from './scaling-policy.js';

export const RUNTIME_SETTINGS_FILE = 'runtime-settings.json';

const fileSchema = z.object({
  version: z.literal(1),
  /** Scope → strategy name, or null for a scope removed at run time. */
  placement: z.record(z.string(), z.string().nullable()).default({}),
  slow_start_ms: z.number().int().min(0).optional(),
  /** Pool → policy, or null for a pool removed at run time. */
  autoscaling: z.record(z.string(), z.unknown().nullable()).default({}),
});
type SettingsFile = z.infer<typeof fileSchema>;

/**
 * The placement part of a data dir's runtime-settings.json (`taskwire store
 * migrate` copies it to PostgreSQL); undefined without one. A damaged file
 * throws, naming it.
 */
export function readPlacementFile(dataDir: string): SharedPlacement | undefined {
  const file = join(dataDir, RUNTIME_SETTINGS_FILE);
  if (!existsSync(file)) return undefined;
  let data: SettingsFile;
  try {
    data = fileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new Error(`${file} is not valid: ${(err as Error).message.slice(0, 200)}`);
  }
  if (Object.keys(data.placement).length === 0 && data.slow_start_ms === undefined) return undefined;
  return sharedPlacementSchema.parse({ placement: data.placement, slow_start_ms: data.slow_start_ms });
}

/** Who changed it (the caller's principal). */
export interface Actor {
  readonly id: string;
  readonly role: string;
}

export const MAX_SLOW_START_MS = 3600_000;

/** The placement settings changed at run time, as every master on a PostgreSQL store shares them. */
export const sharedPlacementSchema = z.object({
  placement: z.record(z.string(), z.string().nullable()).default({}),
  slow_start_ms: z.number().int().min(0).max(MAX_SLOW_START_MS).optional(),
});
export type SharedPlacement = z.infer<typeof sharedPlacementSchema>;

/** Where the shared placement settings are kept (PostgresSettingRow on the task store's database). */
export interface SharedPlacementKeeper {
  load(): SharedPlacement | undefined;
  /** Resolves once kept; rejects (503) when they could not be. */
  save(v: SharedPlacement): Promise<void>;
  /** Told when another master changed them. */
  watch(listener: (v: SharedPlacement | undefined) => void): void;
}

export interface RuntimeSettingsDeps {
  dataDir: string;
  placement: PlacementRouter;
  autoscaler: Autoscaler;
  events: TaskEvents;
  log: Logger;
  /** Several masters on PostgreSQL: the placement settings are the cluster's, kept there. */
  shared?: SharedPlacementKeeper;
}

export class RuntimeSettings {
  private saved: SettingsFile = { version: 1, placement: {}, autoscaling: {} };
  private readonly file: string | undefined;

  constructor(private readonly deps: RuntimeSettingsDeps) {
    this.file = deps.dataDir ? join(deps.dataDir, RUNTIME_SETTINGS_FILE) : undefined;
  }

  /** Applies the changes kept in the data dir over the start-up configuration. A bad entry is logged and skipped. */
  load(): void {
    this.loadFile();
    const { shared } = this.deps;
    if (!shared) return;
    // The cluster's placement settings over the start-up configuration, now and whenever another master changes them.
    const now = shared.load();
    this.saved.placement = {};
    delete this.saved.slow_start_ms;
    if (now) this.adopt(now);
    shared.watch((next) => {
      if (!next) return; // removed or written by a newer taskwire: the settings in force stay
      this.deps.log.info({ placement: next.placement, slow_start_ms: next.slow_start_ms }, 'settings: placement changed on another master');
      this.adopt(next);
    });
  }

  /** Applies placement settings (saved, or another master's) where they differ from those in force. A bad entry is logged and skipped. */
  private adopt(s: SharedPlacement): void {
    const { log, placement } = this.deps;
    for (const [scope, name] of Object.entries(s.placement)) {
      if (this.saved.placement[scope] === name && this.deps.shared) continue;
      try {
        placement.set(scope, name);
        this.saved.placement[scope] = name;
      } catch (err) {
        log.warn({ scope, err: (err as Error).message }, 'a saved placement setting was not applied');
      }
    }
    if (s.slow_start_ms !== undefined) {
      placement.slowStart.windowMs = s.slow_start_ms;
      this.saved.slow_start_ms = s.slow_start_ms;
    }
  }

  private loadFile(): void {
    if (!this.file || !existsSync(this.file)) return;
    const { log, autoscaler } = this.deps;
    let data: SettingsFile;
    try {
      data = fileSchema.parse(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch (err) {
      log.warn({ file: this.file, err: (err as Error).message.slice(0, 200) }, 'runtime settings not applied: the file is not valid');
      return;
    }
    this.saved = data;
    if (!this.deps.shared) this.adopt(data);
    for (const [pool, policy] of Object.entries(data.autoscaling)) {
      try {
        autoscaler.setPolicy(checkPool(pool), policy === null ? null : resolveScalingPolicy(policy));
      } catch (err) {
        log.warn({ pool, err: (err as Error).message }, 'a saved autoscaling policy was not applied');
      }
    }
    log.info({ file: this.file }, 'runtime settings applied');
  }

  placementView(): { strategies: Record<string, string>; slow_start_ms: number } {
    return { strategies: { ...this.deps.placement.config }, slow_start_ms: this.deps.placement.slowStart.windowMs };
  }

  async setPlacement(actor: Actor, scope: string, name: string | null): Promise<{ before: string | null; after: string | null }> {
    let before: string | null;
    try {
      before = this.deps.placement.set(scope, name) ?? null;
    } catch (err) {
      // The router speaks in configuration terms; a caller gets a 400 naming the field.
      if (err instanceof ConfigError) throw new ValidationError('scope', err.message.replace(/^placement: /, ''));
      if (err instanceof ValidationError) throw new ValidationError('strategy', err.message);
      throw err;
    }
    const had = Object.hasOwn(this.saved.placement, scope) ? this.saved.placement[scope] : undefined;
    this.saved.placement[scope] = name;
    try {
      await this.keepPlacement();
    } catch (err) {
      // Not kept: nothing changed.
      this.deps.placement.set(scope, before);
      if (had === undefined) delete this.saved.placement[scope];
      else this.saved.placement[scope] = had;
      throw err;
    }
    this.save();
    this.audit(actor, 'placement', scope, before, name);
    return { before, after: name };
  }

  async setSlowStart(actor: Actor, ms: number): Promise<{ before: number; after: number }> {
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_SLOW_START_MS) throw new ValidationError('slow_start_ms', `must be an integer from 0 to ${MAX_SLOW_START_MS}`);
    const before = this.deps.placement.slowStart.windowMs;
    const had = this.saved.slow_start_ms;
    this.deps.placement.slowStart.windowMs = ms;
    this.saved.slow_start_ms = ms;
    try {
      await this.keepPlacement();
    } catch (err) {
      this.deps.placement.slowStart.windowMs = before;
      if (had === undefined) delete this.saved.slow_start_ms;
      else this.saved.slow_start_ms = had;
      throw err;
    }
    this.save();
    this.audit(actor, 'placement.slow_start', 'default', before, ms);
    return { before, after: ms };
  }

  /** With several masters on PostgreSQL: the placement settings in the database, for every master. */
  private async keepPlacement(): Promise<void> {
    const { shared } = this.deps;
    if (!shared) return;
    await shared.save({ placement: { ...this.saved.placement }, ...(this.saved.slow_start_ms !== undefined && { slow_start_ms: this.saved.slow_start_ms }) });
  }

  setPolicy(actor: Actor, pool: string, input: unknown | null): { before: ScalingPolicy | null; after: ScalingPolicy | null } {
    checkPool(pool);
    const after = input === null ? null : resolveScalingPolicy(input);
    const before = this.deps.autoscaler.setPolicy(pool, after) ?? null;
    if (after === null && before === null) throw new ValidationError('pool', `no autoscaling policy for pool ${pool}`);
    this.saved.autoscaling[pool] = after;
    this.save();
    this.audit(actor, 'autoscaling', pool, before, after);
    return { before, after };
  }

  private audit(actor: Actor, target: string, scope: string, before: unknown, after: unknown): void {
    this.deps.log.info({ actor: actor.id, role: actor.role, target, scope, before, after }, `settings: ${target} ${scope} changed by ${actor.id}`);
    this.deps.events.publish('config.changed', { actor: actor.id, role: actor.role, target, scope, before, after }, null);
  }

  private save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.saved, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
