/**
 * One row of the usage ledger: one attempt of one task, written once when the
 * attempt ends (its final, or a retry), never changed. Keyed by task + attempt.
 */
export interface UsageRow {
  task_id: string;
  attempt: number;
  tenant: string;
  /** The submitting key (the principal id; `local` without API keys). */
  key: string;
  kind: string;
  model: string | null;
  worker_id: string | null;
  /** How the attempt ended: the task's final status, or `retried`. */
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'expired' | 'retried';
  tokens_in: number;
  tokens_out: number;
  processing_ms: number;
  /** CPU time the attempt's worker reported, microseconds (0: its worker does not measure it). */
  cpu_us: number;
  /** Resident memory × time the attempt's worker reported, MiB·ms (0: not measured). */
  mem_mib_ms: number;
  images: number;
  megapixels: number;
  bytes_in: number;
  bytes_out: number;
  /** When the row was written (ms since the epoch): the price in force then applies. */
  at_ms: number;
  /** Cost at the price in force when written (price-table.ts), in the price table's currency units. */
  cost: number;
  /** The price table version used (0: none set, cost 0). */
  price_version: number;
}

/** The numbers of a row that add up in reports. */
export const USAGE_SUMS = ['tokens_in', 'tokens_out', 'processing_ms', 'cpu_us', 'mem_mib_ms', 'images', 'megapixels', 'bytes_in', 'bytes_out', 'cost'] as const;
export type UsageSum = (typeof USAGE_SUMS)[number];
export type UsageTotals = Record<UsageSum, number> & { attempts: number };

export function emptyTotals(): UsageTotals {
  return { attempts: 0, tokens_in: 0, tokens_out: 0, processing_ms: 0, cpu_us: 0, mem_mib_ms: 0, images: 0, megapixels: 0, bytes_in: 0, bytes_out: 0, cost: 0 };
}

export function addRow(t: UsageTotals, r: UsageRow): void {
  t.attempts++;
  for (const k of USAGE_SUMS) t[k] += r[k];
}
