/**
 * Features a task needs that its input alone does not tell. A kind spec's
 * `features(input)` derives what the input says (an image chain's operations
 * and output format); some needs depend on data the master keeps outside the
 * input (the format of an image's input blob, in the blob store). A source,
 * registered per kind by the room that keeps that data (master.ts), resolves
 * them at submit, before admission; the core merges them into the task's
 * requirement (SubmitRequest.features) without knowing what they mean, so
 * placement, the queue keys and the "no worker supports ..." refusal treat
 * them exactly as the spec's.
 */
import type { JsonValue } from '../../common/json-value.js';
import type { SubmitRequest } from './task-admission.js';

export interface FeatureSource {
  /**
   * The extra features of a task of this input (`read:webp`), none: []. The
   * input is not validated yet: a source reads it defensively and gives none
   * for what it does not understand (the kind's schema refuses a bad input).
   */
  features(input: JsonValue, tenant: string | undefined): Promise<readonly string[]>;
}

/** Whether one of the requests has a source: only then are they passed through `withSourcedFeatures` (the other kinds' submits await nothing more). */
export function anySourced(sources: ReadonlyMap<string, FeatureSource>, reqs: readonly SubmitRequest[]): boolean {
  return sources.size > 0 && reqs.some((r) => sources.has(r.kind));
}

/** The requests with their sources' features set (a request of a kind with no source as it is). */
export async function withSourcedFeatures(sources: ReadonlyMap<string, FeatureSource>, reqs: readonly SubmitRequest[]): Promise<readonly SubmitRequest[]> {
  return Promise.all(
    reqs.map(async (r) => {
      const source = sources.get(r.kind);
      if (!source) return r;
      const features = await source.features(r.input, r.tenant);
      return features.length > 0 ? { ...r, features } : r;
    }),
  );
}
