/**
 * Placement: which worker gets a task. A strategy sees the online workers
 * only as read-only candidates, with one helper that says whether a
 * candidate can take this task now (free slot, not suspect, serves the
 * requirement). It returns its choice and reserves nothing: the scheduler
 * reserves the slot through the capacity owner (capacity.ts).
 */
import type { Requirement } from '../../../common/task-kinds.js';
import type { WorkerStatus__Output } from '../../../common/wire.js';
import type { LoadIndex } from './load-index.js';

/** What a strategy may read of a worker. */
export interface PlacementCandidate {
  readonly id: string;
  readonly capacity: number;
  /** Task ids the worker holds now (read-only; the capacity owner changes it). */
  readonly inFlight: ReadonlySet<string>;
  readonly status: Readonly<WorkerStatus__Output>;
  /** When it came online (ms), for slow start; unknown when absent. */
  readonly connectedAtMs?: number | null;
}

export interface PlacementContext<C extends PlacementCandidate = PlacementCandidate> {
  /** Online workers in a stable order (registration order). */
  readonly candidates: readonly C[];
  readonly requirement: Requirement;
  /** True when the candidate can take this task now. */
  eligible(candidate: C): boolean;
  /** The task's affinity key (its session, its model, or one it names), for `affinity`. */
  readonly key?: string;
  /**
   * The candidates with a free slot by load, kept up to date by the scheduler
   * (load-index.ts), when it has one: `least-loaded` asks it instead of
   * scanning. Without it (a strategy tried on its own) strategies scan.
   */
  readonly loads?: LoadIndex<C>;
}

/** A finished attempt, fed to strategies that learn from run times (`least-latency`). */
export interface PlacementSample {
  readonly workerId: string;
  readonly runMs: number;
  readonly atMs: number;
}

export interface PlacementStrategy {
  readonly name: string;
  /** The chosen candidate, or undefined when none is eligible. */
  pick<C extends PlacementCandidate>(ctx: PlacementContext<C>): C | undefined;
  /** Optional: learn from a finished attempt (called from the task event stream, never from pick). */
  observe?(sample: PlacementSample): void;
}
