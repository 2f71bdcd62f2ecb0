/**
 * Placement per kind and per model: a strategy itself (the scheduler sees
 * one), that hands each pick to the strategy configured for the task's
 * requirement: `kind:model`, then `kind`, then the default. Configured by
 * `TASKWIRE_PLACEMENT` as one name (`least-loaded`) or a list
 * (`llm=affinity,infer=least-latency,default=p2c`; `kind:model=name` for
 * one model), changeable at run time (`set`, for the operator API). Every
 * strategy learns from finished attempts (`observe`).
 */
import { ConfigError } from '../../../common/errors.js';
import { KIND_NAME_PATTERN } from '../../../common/kind-names.js';
import { createPlacement, DEFAULT_PLACEMENT, hasPlacement, placementNames } from './placement-registry.js';
import type { PlacementCandidate, PlacementContext, PlacementSample, PlacementStrategy } from './placement-strategy.js';
import { SlowStart } from './slow-start.js';

export interface PlacementRouterOptions {
  /** Slow start window for a worker that just came online, ms (0: off; `TASKWIRE_PLACEMENT_SLOW_START_MS`). */
  slowStartMs?: number;
  now?: () => number;
  random?: () => number;
}

export type PlacementSpec = Readonly<Record<string, string>>;

const SCOPE = new RegExp(`^(default|${KIND_NAME_PATTERN.source.replace(/^\^|\$$/g, '')}(:[^=,\\s]{1,128})?)$`);

/** Parses `name` or `scope=name,...` (scope: `default`, a kind, or `kind:model`); names the variable on error. */
export function parsePlacementSpec(spec: string, variable = 'TASKWIRE_PLACEMENT'): PlacementSpec {
  const out: Record<string, string> = {};
  const s = spec.trim();
  if (!s.includes('=')) {
    if (!hasPlacement(s)) throw new ConfigError(variable, `unknown placement strategy "${s.slice(0, 64)}" (known: ${placementNames().join(', ')})`);
    return { default: s };
  }
  for (const part of s.split(',')) {
    const [scope, name, extra] = part.split('=').map((x) => x.trim());
    if (!scope || !name || extra !== undefined || !SCOPE.test(scope)) {
      throw new ConfigError(variable, `expected "strategy" or "scope=strategy,..." (scope: default, a kind or kind:model), got "${part.slice(0, 64)}"`);
    }
    if (!hasPlacement(name)) throw new ConfigError(variable, `unknown placement strategy "${name.slice(0, 64)}" for ${scope} (known: ${placementNames().join(', ')})`);
    out[scope] = name;
  }
  out.default ??= DEFAULT_PLACEMENT;
  return out;
}

export class PlacementRouter implements PlacementStrategy {
  readonly name = 'router';
  private readonly strategies = new Map<string, PlacementStrategy>();
  private spec: Record<string, string> = {};
  private fallback!: PlacementStrategy;
  /** Applied before every strategy (changeable at run time: `slowStart.windowMs`). */
  readonly slowStart: SlowStart;
  private readonly now: () => number;

  constructor(spec: PlacementSpec = { default: DEFAULT_PLACEMENT }, options: PlacementRouterOptions = {}) {
    this.slowStart = new SlowStart({ windowMs: options.slowStartMs ?? 0, random: options.random });
    this.now = options.now ?? Date.now;
    for (const [scope, name] of Object.entries(spec)) this.set(scope, name);
    if (!this.strategies.has('default')) this.set('default', DEFAULT_PLACEMENT);
  }

  /** The configured names by scope. */
  get config(): PlacementSpec {
    return { ...this.spec };
  }

  /** Sets (or with `null` removes) the strategy of one scope; returns the previous name. Throws on an unknown name. */
  set(scope: string, name: string | null): string | undefined {
    const before = this.spec[scope];
    if (name === null) {
      if (scope === 'default') throw new ConfigError('placement', 'the default strategy cannot be removed');
      this.strategies.delete(scope);
      delete this.spec[scope];
      return before;
    }
    if (!SCOPE.test(scope)) throw new ConfigError('placement', `bad scope "${scope.slice(0, 64)}"`);
    const strategy = createPlacement(name, {}, `placement.${scope}`);
    this.strategies.set(scope, strategy);
    this.spec[scope] = name;
    if (scope === 'default') this.fallback = strategy;
    return before;
  }

  /** The strategy a requirement is placed by. */
  strategyFor(kind: string, model?: string): PlacementStrategy {
    if (this.strategies.size === 1) return this.fallback;
    return (model ? this.strategies.get(`${kind}:${model}`) : undefined) ?? this.strategies.get(kind) ?? this.fallback;
  }

  pick<C extends PlacementCandidate>(ctx: PlacementContext<C>): C | undefined {
    const strategy = this.strategyFor(ctx.requirement.kind, ctx.requirement.model);
    return this.slowStart.active ? this.slowStart.pick(strategy, ctx, this.now()) : strategy.pick(ctx);
  }

  observe(sample: PlacementSample): void {
    for (const s of this.strategies.values()) s.observe?.(sample);
  }
}

/** The part of the task event stream placement learns from (finished attempts' run times). */
export interface RunTimeEvents {
  on(types: 'task.succeeded', listener: (ev: { worker_id: string | null; run_ms: number | null; ts: number }) => void): () => void;
}

/** Feeds every succeeded attempt's run time to the strategies; returns the unsubscribe. */
export function feedPlacement(events: RunTimeEvents, router: PlacementStrategy): () => void {
  if (!router.observe) return () => undefined;
  return events.on('task.succeeded', (ev) => {
    if (ev.worker_id !== null && ev.run_ms !== null) router.observe!({ workerId: ev.worker_id, runMs: ev.run_ms, atMs: ev.ts });
  });
}
