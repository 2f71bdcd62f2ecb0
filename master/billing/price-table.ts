/**
 * The versioned price table an admin sets (PUT /api/v1/admin/prices): each
 * PUT appends a new version in force from its `effective_from` (default:
 * now); a usage row is priced once, when written, by the version in force
 * then, and keeps that version's number. An entry matches by kind and model:
 * kind + model first, then kind alone, then `*`.
 */
import { z } from 'zod';
import type { UsageRow } from './usage-row.js';

const price = z.number().min(0).max(1e9);

export const priceEntry = z
  .object({
    kind: z.string().min(1).max(64),
    model: z.string().min(1).max(200).optional(),
    per_request: price.optional(),
    per_1k_tokens_in: price.optional(),
    per_1k_tokens_out: price.optional(),
    per_second: price.optional(),
    per_megapixel: price.optional(),
    /** Per second of CPU time the worker reported (cpu_us / 1e6). */
    per_cpu_second: price.optional(),
    /** Per GiB-second of memory the worker reported (mem_mib_ms / 1024 / 1000), as cloud functions bill it. */
    per_gb_second: price.optional(),
  })
  .strict();
export type PriceEntry = z.infer<typeof priceEntry>;

export const priceTableBody = z
  .object({
    prices: z.array(priceEntry).max(1000),
    /** When this version comes into force (ISO 8601; default now). Not before the latest version's. */
    effective_from: z.string().datetime({ offset: true }).optional(),
    currency: z.string().min(1).max(16).optional(),
  })
  .strict();

export interface PriceVersion {
  version: number;
  effective_from_ms: number;
  currency: string;
  prices: PriceEntry[];
}

export function findPrice(v: PriceVersion, kind: string, model: string | null): PriceEntry | undefined {
  return (
    (model !== null ? v.prices.find((p) => p.kind === kind && p.model === model) : undefined) ??
    v.prices.find((p) => p.kind === kind && p.model === undefined) ??
    v.prices.find((p) => p.kind === '*' && p.model === undefined)
  );
}

/** The cost of a row's usage at an entry's prices. */
export function costOf(p: PriceEntry | undefined, r: Pick<UsageRow, 'tokens_in' | 'tokens_out' | 'processing_ms' | 'megapixels' | 'cpu_us' | 'mem_mib_ms'>): number {
  if (!p) return 0;
  return (
    (p.per_request ?? 0) +
    (r.tokens_in / 1000) * (p.per_1k_tokens_in ?? 0) +
    (r.tokens_out / 1000) * (p.per_1k_tokens_out ?? 0) +
    (r.processing_ms / 1000) * (p.per_second ?? 0) +
    r.megapixels * (p.per_megapixel ?? 0) +
    (r.cpu_us / 1e6) * (p.per_cpu_second ?? 0) +
    (r.mem_mib_ms / 1024 / 1000) * (p.per_gb_second ?? 0)
  );
}

/** The versions, oldest first; `at(ms)` is the one in force. */
export class PriceTable {
  constructor(private readonly versions: PriceVersion[] = []) {}

  at(ms: number): PriceVersion | undefined {
    for (let i = this.versions.length - 1; i >= 0; i--) if (this.versions[i]!.effective_from_ms <= ms) return this.versions[i];
    return undefined;
  }

  get latest(): PriceVersion | undefined {
    return this.versions.at(-1);
  }

  all(): readonly PriceVersion[] {
    return this.versions;
  }

  /** Takes the versions another master added (a shared store), by version number; returns whether any was new. */
  merge(versions: readonly PriceVersion[]): boolean {
    const known = new Set(this.versions.map((v) => v.version));
    const fresh = versions.filter((v) => !known.has(v.version));
    if (fresh.length === 0) return false;
    this.versions.push(...fresh);
    this.versions.sort((a, b) => a.version - b.version);
    return true;
  }

  /** The next version (effective from `fromMs`, not before the latest one's), not yet added: `merge` it once kept. */
  next(body: z.infer<typeof priceTableBody>, nowMs: number): PriceVersion {
    const from = body.effective_from === undefined ? nowMs : Date.parse(body.effective_from);
    const last = this.latest;
    const v: PriceVersion = {
      version: (last?.version ?? 0) + 1,
      effective_from_ms: Math.max(from, last?.effective_from_ms ?? 0),
      currency: body.currency ?? last?.currency ?? 'USD',
      prices: body.prices,
    };
    return v;
  }

}
