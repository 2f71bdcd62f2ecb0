/** Human-readable numbers for the chat: durations, counts, clock times. */

/** 0.4 ms, 12 ms, 1.25 s, 2 min 5 s; "–" when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10) return `${Number(ms.toFixed(1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function clockTime(date: Date = new Date()): string {
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Stored statuses as users read them: the API's own words (GET /api/v1/tasks, the CLI), capitalised. */
export const STATUS_LABELS: Readonly<Record<string, string>> = {
  queued: 'Queued',
  assigned: 'Assigned',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  expired: 'Expired',
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

/** "Queued – position 12, about 8 s" (position counts from 1: the next to run is 1). */
export function queueLabel(position: number, etaMs: number | null): string {
  const about = etaMs === null ? '' : etaMs < 1000 ? ', starting soon' : `, about ${Math.round(etaMs / 1000)} s`;
  return `Queued – position ${position + 1}${about}`;
}
