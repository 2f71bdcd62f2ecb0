/**
 * Blobs are scoped by tenant (blob-store.ts), on every surface that names
 * one: an `image` task submitted directly (REST, a batch submit, an operator
 * retry) may name only a blob its tenant may read, so a digest another
 * tenant uploaded cannot be turned into a readable output by processing it.
 * Refused with 400 `input.blob` (`tasks.N.input.blob` in a batch of several)
 * exactly as for a blob that does not exist.
 *
 * An admission gate (core/admission-gate.ts): active only while callers are
 * told apart (API keys configured or stored); without keys every caller is
 * the local admin and reads every blob.
 */
import { ValidationError } from '../../common/errors.js';
import type { AdmissionGate, AdmissionTicket } from '../core/admission-gate.js';
import type { SubmitRequest } from '../core/task-admission.js';
import { DEFAULT_TENANT } from '../core/task-record.js';
import type { BlobStore } from './blob-store.js';

export class BlobAccessGate implements AdmissionGate {
  constructor(
    private readonly blobs: Pick<BlobStore, 'readableBy'>,
    /** Callers are told apart (keys required): otherwise nothing to check. */
    private readonly scoped: () => boolean,
  ) {}

  active(): boolean {
    return this.scoped();
  }

  async reserve(reqs: readonly SubmitRequest[]): Promise<AdmissionTicket | undefined> {
    for (const [i, r] of reqs.entries()) {
      if (r.kind !== 'image') continue;
      const blob = (r.input as { blob?: unknown } | null)?.blob;
      if (typeof blob !== 'string') continue; // the kind's schema names the field
      if (!(await this.blobs.readableBy(blob, r.tenant ?? DEFAULT_TENANT))) {
        throw new ValidationError(reqs.length === 1 ? 'input.blob' : `tasks.${i}.input.blob`, `no blob ${blob.slice(0, 64)}`);
      }
    }
    return undefined;
  }
}
