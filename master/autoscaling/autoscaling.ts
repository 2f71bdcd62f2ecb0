/**
 * Builds the autoscaling room for the master (master.ts only calls this):
 * the autoscaler over the live queue and worker registry, the actuator a
 * policy names (`local` from the CLI's `taskwire start --autoscale`,
 * `swarm` through the Docker Engine API at TASKWIRE_DOCKER_HOST), the
 * start-up policies (TASKWIRE_AUTOSCALE), the run-time settings kept in the
 * data dir, and its metrics.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { ConfigError, ValidationError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { TaskEvents } from '../core/task-events.js';
import type { PlacementRouter } from '../scheduling/placement/placement-router.js';
import { Autoscaler } from './autoscaler.js';
import { DockerEngine, parseDockerHost } from './docker-engine.js';
import type { LoadSource } from './pool-load.js';
import type { DrainHost } from './process-actuator.js';
import { RuntimeSettings, type SharedPlacementKeeper } from './runtime-settings.js';
import type { ScalingActuator } from './scaling-actuator.js';
import { checkPool, resolveScalingPolicy, type ScalingPolicy } from './scaling-policy.js';
import { SwarmActuator } from './swarm-actuator.js';

export interface AutoscalingDeps {
  source: LoadSource;
  events: TaskEvents;
  placement: PlacementRouter;
  drainHost: DrainHost;
  /** The local actuator, when the CLI runs local workers under `--autoscale`. */
  localActuator?: (host: DrainHost) => ScalingActuator;
  registry: Registry;
  log: Logger;
  now: () => number;
  dataDir: string;
  dockerHost: string;
  intervalMs: number;
  /** TASKWIRE_AUTOSCALE: JSON `{ "<pool>": { policy } }` ('' for none). */
  initial: string;
  /** Several masters on PostgreSQL: where the cluster's placement settings are kept. */
  sharedPlacement?: SharedPlacementKeeper;
}

/** Parses TASKWIRE_AUTOSCALE (JSON: pool → policy), naming the variable and field on error. */
export function parseAutoscaleEnv(value: string, variable = 'TASKWIRE_AUTOSCALE'): Record<string, ScalingPolicy> {
  if (!value.trim()) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw new ConfigError(variable, 'expected JSON: {"<pool>": {"min_workers": 1, "max_workers": 4, ...}}');
  }
  const parsed = z.record(z.string(), z.unknown()).safeParse(raw);
  if (!parsed.success) throw new ConfigError(variable, 'expected a JSON object of pool -> policy');
  const out: Record<string, ScalingPolicy> = {};
  for (const [pool, p] of Object.entries(parsed.data)) {
    try {
      out[checkPool(pool)] = resolveScalingPolicy(p, pool);
    } catch (err) {
      throw new ConfigError(variable, err instanceof ValidationError ? `${err.field}: ${err.message}` : (err as Error).message);
    }
  }
  return out;
}

export function createAutoscaling(deps: AutoscalingDeps): { autoscaler: Autoscaler; settings: RuntimeSettings } {
  const desired = new Gauge({ name: 'taskwire_autoscale_desired_workers', help: 'Workers the autoscaler wants per pool', labelNames: ['pool'], registers: [deps.registry] });
  const current = new Gauge({ name: 'taskwire_autoscale_current_workers', help: 'Workers the pool\'s actuator is set to', labelNames: ['pool'], registers: [deps.registry] });
  const changes = new Counter({ name: 'taskwire_autoscale_changes_total', help: 'Worker count changes applied, by pool and direction', labelNames: ['pool', 'direction'], registers: [deps.registry] });
  let engine: DockerEngine | undefined;
  const autoscaler = new Autoscaler(
    {
      source: deps.source,
      events: deps.events,
      now: deps.now,
      log: deps.log,
      actuatorFor: (pool, policy) => {
        if (policy.actuator === 'none') return undefined;
        if (policy.actuator === 'local') {
          if (!deps.localActuator) throw new ValidationError('actuator', 'local workers are scaled only by `taskwire start --autoscale` (this master runs none)');
          return deps.localActuator(deps.drainHost);
        }
        engine ??= new DockerEngine(parseDockerHost(deps.dockerHost));
        return new SwarmActuator({ engine, service: policy.service! });
      },
      onDesired: (pool, d, c) => {
        desired.set({ pool }, d);
        current.set({ pool }, c);
      },
      onChange: (pool, from, to) => changes.inc({ pool, direction: to > from ? 'up' : 'down' }),
    },
    { intervalMs: deps.intervalMs },
  );
  for (const [pool, policy] of Object.entries(parseAutoscaleEnv(deps.initial))) {
    try {
      autoscaler.setPolicy(pool, policy);
    } catch (err) {
      throw new ConfigError('TASKWIRE_AUTOSCALE', `${pool}: ${err instanceof ValidationError ? `${err.field}: ` : ''}${(err as Error).message}`);
    }
  }
  const settings = new RuntimeSettings({ dataDir: deps.dataDir, placement: deps.placement, autoscaler, events: deps.events, log: deps.log, shared: deps.sharedPlacement });
  settings.load();
  return { autoscaler, settings };
}
