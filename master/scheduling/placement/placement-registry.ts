/**
 * Named placement strategies (after grpc-js registerLoadBalancerType): each
 * registers a factory with a typed config schema; the master creates its
 * strategy by name (TASKWIRE_PLACEMENT). A new strategy is one file plus one
 * `registerPlacement` call here.
 */
import type { z } from 'zod';
import { ValidationError } from '../../../common/errors.js';
import { LeastLoaded, leastLoadedConfig } from './least-loaded.js';
import type { PlacementStrategy } from './placement-strategy.js';
import { RoundRobin, roundRobinConfig } from './round-robin.js';
import { Affinity, affinityConfig } from './affinity.js';
import { LeastConnections, leastConnectionsConfig } from './least-connections.js';
import { LeastLatency, leastLatencyConfig } from './least-latency.js';
import { LeastLoad, leastLoadConfig } from './least-load.js';
import { PowerOfTwoChoices, p2cConfig } from './p2c.js';
import { Weighted, weightedConfig } from './weighted.js';

export const DEFAULT_PLACEMENT = 'least-loaded';

export interface PlacementFactory<C = unknown> {
  readonly name: string;
  readonly config: z.ZodType<C>;
  create(config: C): PlacementStrategy;
}

const factories = new Map<string, PlacementFactory<never>>();

export function registerPlacement<C>(factory: PlacementFactory<C>): void {
  if (factories.has(factory.name)) throw new Error(`placement strategy "${factory.name}" is already registered`);
  factories.set(factory.name, factory as unknown as PlacementFactory<never>);
}

export function placementNames(): string[] {
  return [...factories.keys()].sort();
}

export function hasPlacement(name: string): boolean {
  return factories.has(name);
}

/**
 * A fresh strategy (strategies keep rotation state: one per scheduler).
 * Unknown names and invalid configs throw a ValidationError on `field`.
 */
export function createPlacement(name: string, config: unknown = {}, field = 'placement'): PlacementStrategy {
  const f = factories.get(name);
  if (!f) throw new ValidationError(field, `unknown placement strategy "${name.slice(0, 64)}" (known: ${placementNames().join(', ')})`);
  const parsed = (f.config as z.ZodType<unknown>).safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(field, `${name}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  return (f as unknown as PlacementFactory<unknown>).create(parsed.data);
}

registerPlacement({ name: 'least-loaded', config: leastLoadedConfig, create: () => new LeastLoaded() });
registerPlacement({ name: 'round-robin', config: roundRobinConfig, create: () => new RoundRobin() });
registerPlacement({ name: 'least-connections', config: leastConnectionsConfig, create: () => new LeastConnections() });
registerPlacement({ name: 'least-load', config: leastLoadConfig, create: (c) => new LeastLoad(c) });
registerPlacement({ name: 'p2c', config: p2cConfig, create: () => new PowerOfTwoChoices() });
registerPlacement({ name: 'weighted', config: weightedConfig, create: (c) => new Weighted(c) });
registerPlacement({ name: 'least-latency', config: leastLatencyConfig, create: (c) => new LeastLatency(c) });
registerPlacement({ name: 'affinity', config: affinityConfig, create: (c) => new Affinity(c) });
