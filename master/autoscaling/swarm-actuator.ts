/**
 * The Docker Swarm actuator: sets a service's replica count through the
 * Engine API (read the service, change Spec.Mode.Replicated.Replicas, update
 * at the version read; on "update out of sequence" read again and retry).
 *
 * Scale-down: Swarm chooses which task to remove and stops its container
 * with SIGTERM; a taskwire worker's SIGTERM is its graceful stop (announce
 * DRAINING, finish what it runs within TASKWIRE_SHUTDOWN_GRACE_MS, hand back
 * the rest), so set the service's `stop_grace_period` longer than the tasks
 * it runs (stack.yml does).
 */
import { ActuatorError, type ScalingActuator } from './scaling-actuator.js';
import type { DockerEngine } from './docker-engine.js';

export interface SwarmActuatorOptions {
  engine: DockerEngine;
  service: string;
  /** Tries of an update whose version went stale in between (default 5). */
  maxConflicts?: number;
}

export class SwarmActuator implements ScalingActuator {
  readonly name = 'swarm';
  /** Stale-version retries so far. */
  conflicts = 0;

  constructor(private readonly options: SwarmActuatorOptions) {}

  async replicas(): Promise<number> {
    const s = await this.options.engine.inspectService(this.options.service);
    const r = s.Spec.Mode.Replicated;
    if (!r) throw new ActuatorError(`service ${this.options.service} is not replicated (global services cannot be scaled)`);
    return r.Replicas ?? 0;
  }

  async scaleTo(count: number): Promise<number> {
    const { engine, service } = this.options;
    const tries = this.options.maxConflicts ?? 5;
    for (let i = 0; i < tries; i++) {
      const s = await engine.inspectService(service);
      const replicated = s.Spec.Mode.Replicated;
      if (!replicated) throw new ActuatorError(`service ${service} is not replicated (global services cannot be scaled)`);
      if ((replicated.Replicas ?? 0) === count) return count;
      const spec = { ...s.Spec, Mode: { ...s.Spec.Mode, Replicated: { ...replicated, Replicas: count } } };
      const { conflict } = await engine.updateService(s.ID, s.Version.Index, spec);
      if (!conflict) return count;
      this.conflicts++;
      await new Promise((r) => setTimeout(r, 50 * (i + 1)));
    }
    throw new ActuatorError(`service ${service}: the update stayed out of sequence after ${tries} tries (something else keeps updating it)`);
  }
}
