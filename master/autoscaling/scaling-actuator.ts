/**
 * What changes a pool's worker count: local processes (process-actuator.ts)
 * or a Docker Swarm service's replicas (swarm-actuator.ts). The autoscaler
 * decides; an actuator only applies, one change at a time per pool.
 */
export interface ScalingActuator {
  readonly name: string;
  /** The count it is set to (the processes it keeps, the service's Replicas), not necessarily online yet. */
  replicas(): Promise<number>;
  /** Sets the count; resolves once the change is requested (removed local workers drain in the background; Swarm stops its replicas itself). Returns the new count. */
  scaleTo(count: number): Promise<number>;
  close?(): Promise<void>;
}

/** An actuator failed (the Docker Engine refused, a process could not start): the decision is retried on the next evaluation. */
export class ActuatorError extends Error {
  readonly code = 'ACTUATOR_FAILED';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ActuatorError';
  }
}
