/**
 * An autoscaling policy for one pool of workers (after Kubernetes HPA and
 * KEDA): a target of in-flight-or-queued tasks per worker, the oldest queued
 * task's age that adds a worker on its own, min and max workers, a fast
 * scale-up and a stabilised scale-down window, optional scale to zero after
 * an idle period. One zod schema for every boundary (REST, CLI, data dir).
 *
 * A pool is the tasks a set of workers serves: `*` (every task: the local
 * workers of `taskwire start` serve every kind), a kind (`sleep`), or
 * `kind:model` (`llm:llama3`).
 */
import { z } from 'zod';
import { KIND_NAME_PATTERN } from '../../common/kind-names.js';
import { schemaValidationError } from '../../common/schema-issue.js';
import { ValidationError } from '../../common/errors.js';

const KIND = KIND_NAME_PATTERN.source.replace(/^\^|\$$/g, '');
export const POOL_PATTERN = new RegExp(`^(\\*|${KIND}(:[^=,\\s]{1,128})?)$`);
export const poolName = z.string().max(200).regex(POOL_PATTERN, 'a pool is "*", a kind, or kind:model');

export const ACTUATORS = ['none', 'local', 'swarm'] as const;
export type ActuatorName = (typeof ACTUATORS)[number];

const ms = (max: number) => z.number().int().min(0).max(max);
const HOUR = 3600_000;

export const scalingPolicySchema = z
  .object({
    min_workers: z.number().int().min(0).max(1000).default(1),
    max_workers: z.number().int().min(1).max(1000).default(4),
    /** Desired workers = ceil((queued + in flight) / this). */
    target_per_worker: z.number().positive().max(10_000).default(1),
    /** A queued task older than this adds one worker even when the target says enough (0: off). */
    max_queue_age_ms: ms(24 * HOUR).default(5000),
    /** Scale up to the lowest recommendation of this window (0: at once, the default). */
    scale_up_window_ms: ms(HOUR).default(0),
    /** Scale down only to the highest recommendation of this window (Knative/KEDA-style stabilisation). */
    scale_down_window_ms: ms(24 * HOUR).default(60_000),
    /** Most workers added / removed by one decision. */
    max_step_up: z.number().int().min(1).max(1000).default(4),
    max_step_down: z.number().int().min(1).max(1000).default(1),
    /** With min_workers 0: no task queued or running for this long scales the pool to zero. */
    scale_to_zero_after_ms: ms(24 * HOUR).default(300_000),
    /** Who changes the worker count: `local` (worker processes of `taskwire start`), `swarm` (a Docker service), `none` (decisions only). */
    actuator: z.enum(ACTUATORS).default('none'),
    /** The Docker service (name or id) of a `swarm` pool. */
    service: z.string().min(1).max(256).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a Docker service name or id').optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.min_workers > p.max_workers) ctx.addIssue({ code: 'custom', path: ['min_workers'], message: `must not exceed max_workers (${p.max_workers})` });
    if (p.actuator === 'swarm' && !p.service) ctx.addIssue({ code: 'custom', path: ['service'], message: 'a swarm pool needs the Docker service to scale' });
  });

export type ScalingPolicy = z.output<typeof scalingPolicySchema>;
export type ScalingPolicyInput = z.input<typeof scalingPolicySchema>;

/** Validates a policy (field names prefixed with `at`), filling in the defaults. */
export function resolveScalingPolicy(input: unknown, at = 'policy'): ScalingPolicy {
  const parsed = scalingPolicySchema.safeParse(input ?? {});
  if (!parsed.success) throw schemaValidationError(parsed.error, at, at);
  return parsed.data;
}

export function checkPool(pool: string, field = 'pool'): string {
  if (!POOL_PATTERN.test(pool)) throw new ValidationError(field, `"${pool.slice(0, 64)}" is not a pool ("*", a kind, or kind:model)`);
  return pool;
}

/** Does a requirement (kind, model) belong to the pool? */
export function poolMatches(pool: string, kind: string, model?: string): boolean {
  if (pool === '*') return true;
  const i = pool.indexOf(':');
  if (i < 0) return pool === kind;
  return pool.slice(0, i) === kind && pool.slice(i + 1) === model;
}
