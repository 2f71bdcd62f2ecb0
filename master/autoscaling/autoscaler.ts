/**
 * The autoscaler: one policy per pool, evaluated every `intervalMs` (and
 * soon after a task is queued, so a backlog is answered within a tick), from
 * the pool's load (pool-load.ts) and its actuator's current count. A change
 * goes to the pool's actuator, one at a time per pool; every change is an
 * `autoscale.decision` event on the task event stream (so it is durable and
 * on `GET /api/v1/events`) and a metric. It only acts while `isLeader()`
 * (always, with one master).
 *
 * The core never calls it: it reads the live state and listens to the event
 * stream.
 */
import type { Logger } from '../../common/logger.js';
import type { TaskEvents } from '../core/task-events.js';
import type { LoadSource } from './pool-load.js';
import { samplePools } from './pool-load.js';
import type { ScalingActuator } from './scaling-actuator.js';
import { ScalingDecider } from './scaling-decider.js';
import { type ScalingPolicy } from './scaling-policy.js';

export interface AutoscalerOptions {
  /** How often every pool is evaluated, ms (default 1000). */
  intervalMs?: number;
}

export interface AutoscalerDeps {
  source: LoadSource;
  events: TaskEvents;
  /** The actuator a policy names; throws a ValidationError when it cannot be had (local without `--autoscale`). */
  actuatorFor(pool: string, policy: ScalingPolicy): ScalingActuator | undefined;
  now(): number;
  log: Logger;
  isLeader?: () => boolean;
  /** Called for each applied change (metrics). */
  onChange?: (pool: string, from: number, to: number) => void;
  onDesired?: (pool: string, desired: number, current: number) => void;
}

export interface PoolStatus {
  pool: string;
  policy: ScalingPolicy;
  actuator: string;
  /** What the actuator is set to (or the online workers with `none`). */
  current: number | null;
  desired: number | null;
  queued: number;
  in_flight: number;
  oldest_ms: number;
  workers_online: number;
  reason: string;
  /** A scale change in progress (a scale-down waits for drains). */
  changing: boolean;
  last_change_at: string | null;
  last_error: string | null;
  changes: number;
}

interface Pool {
  policy: ScalingPolicy;
  decider: ScalingDecider;
  actuator: ScalingActuator | undefined;
  status: Omit<PoolStatus, 'pool' | 'policy' | 'actuator'>;
  lastPublishedDesired: number | null;
}

export class Autoscaler {
  private readonly pools = new Map<string, Pool>();
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly deps: AutoscalerDeps,
    options: AutoscalerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.evaluate(), this.intervalMs);
    this.timer.unref();
    // A new task: evaluate within 100 ms instead of waiting for the tick (fast scale-up).
    this.unsubscribe = this.deps.events.on('task.queued', () => {
      if (this.soon || this.pools.size === 0) return;
      this.soon = setTimeout(() => {
        this.soon = undefined;
        void this.evaluate();
      }, 100);
      this.soon.unref();
    });
  }

  /** Sets (or with null removes) a pool's policy; returns the one it had. */
  setPolicy(pool: string, policy: ScalingPolicy | null): ScalingPolicy | undefined {
    const had = this.pools.get(pool);
    if (policy === null) {
      this.pools.delete(pool);
      return had?.policy;
    }
    const sameActuator = had && had.policy.actuator === policy.actuator && had.policy.service === policy.service;
    const actuator = sameActuator ? had.actuator : this.deps.actuatorFor(pool, policy);
    if (had && sameActuator) {
      const before = had.policy;
      had.policy = policy;
      had.decider.policy = policy;
      return before;
    }
    this.pools.set(pool, {
      policy,
      decider: new ScalingDecider(policy, this.deps.now()),
      actuator,
      status: { current: null, desired: null, queued: 0, in_flight: 0, oldest_ms: 0, workers_online: 0, reason: 'not evaluated yet', changing: false, last_change_at: null, last_error: null, changes: 0 },
      lastPublishedDesired: null,
    });
    return had?.policy;
  }

  /** True when a pool with an actuator covers the kind and may start a worker (a task waits for it instead of being refused). */
  startsWorkersFor(kind: string): boolean {
    for (const [pool, p] of this.pools) {
      if (!p.actuator || p.policy.max_workers < 1) continue;
      if (pool === '*' || pool === kind || pool.startsWith(`${kind}:`)) return true;
    }
    return false;
  }

  policies(): Record<string, ScalingPolicy> {
    return Object.fromEntries([...this.pools].map(([k, p]) => [k, p.policy]));
  }

  status(): PoolStatus[] {
    return [...this.pools].map(([pool, p]) => ({ pool, policy: p.policy, actuator: p.actuator?.name ?? 'none', ...p.status }));
  }

  /** One evaluation of every pool (concurrent calls share one). */
  evaluate(): Promise<void> {
    this.evaluating ??= this.evaluateAll().finally(() => (this.evaluating = undefined));
    return this.evaluating;
  }

  private async evaluateAll(): Promise<void> {
    if (this.stopped || (this.deps.isLeader && !this.deps.isLeader())) return;
    const now = this.deps.now();
    const samples = samplePools(this.deps.source, [...this.pools.keys()], now);
    for (const [name, pool] of this.pools) {
      const s = samples.get(name)!;
      Object.assign(pool.status, { queued: s.queued, in_flight: s.inFlight, oldest_ms: s.oldestMs, workers_online: s.workers });
      if (pool.status.changing) continue;
      let current: number;
      try {
        current = pool.actuator ? await pool.actuator.replicas() : s.workers;
      } catch (err) {
        this.failed(name, pool, err);
        continue;
      }
      if (this.pools.get(name) !== pool) continue; // removed meanwhile
      const d = pool.decider.decide(s, current, now);
      pool.status.current = current;
      pool.status.desired = d.desired;
      pool.status.reason = d.reason;
      this.deps.onDesired?.(name, d.desired, current);
      if (d.desired === current) continue;
      if (!pool.actuator) {
        // Decisions only: one event per new recommendation, not one per tick.
        if (pool.lastPublishedDesired !== d.desired) this.publish(name, pool, current, d.desired, d.reason, s);
        pool.lastPublishedDesired = d.desired;
        continue;
      }
      pool.status.changing = true;
      this.publish(name, pool, current, d.desired, d.reason, s);
      const actuator = pool.actuator;
      void actuator.scaleTo(d.desired).then(
        (now2) => {
          pool.status.changing = false;
          pool.status.current = now2;
          pool.status.last_error = null;
          pool.status.changes++;
          pool.status.last_change_at = new Date(this.deps.now()).toISOString();
          this.deps.onChange?.(name, current, now2);
        },
        (err: unknown) => {
          pool.status.changing = false;
          this.failed(name, pool, err);
        },
      );
    }
  }

  private publish(name: string, pool: Pool, from: number, to: number, reason: string, s: { queued: number; inFlight: number; oldestMs: number }): void {
    this.deps.log.info({ pool: name, from, to, reason }, `autoscale ${name}: ${from} -> ${to}`);
    this.deps.events.publish('autoscale.decision', { pool: name, from, to, reason, actuator: pool.actuator?.name ?? 'none', queued: s.queued, in_flight: s.inFlight, oldest_ms: s.oldestMs }, null);
  }

  private failed(name: string, pool: Pool, err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    if (pool.status.last_error !== msg) this.deps.log.warn({ pool: name, err: msg }, `autoscale ${name}: the actuator failed; retrying on the next evaluation`);
    pool.status.last_error = msg;
  }

  /** Stops evaluating; with `closeActuators`, stops the actuators' workers too (local processes). */
  async stop(closeActuators = false): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.unsubscribe?.();
    await this.evaluating?.catch(() => undefined);
    if (closeActuators) for (const p of this.pools.values()) await p.actuator?.close?.().catch(() => undefined);
  }
}
