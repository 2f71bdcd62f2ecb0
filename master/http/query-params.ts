/**
 * Query parameters the list routes share: opaque cursors and times given as
 * ms since the epoch or an ISO 8601 date. A bad value is a 400 naming the
 * parameter (zod at the boundary).
 */
import { z } from 'zod';
import { ValidationError } from '../../common/errors.js';

/** `1733100000000` or `2026-12-02T01:00:00Z` → ms since the epoch. */
export const timeParam = z
  .string()
  .max(40)
  .transform((s, ctx) => {
    const ms = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'expected ms since the epoch or an ISO 8601 time' });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'ms since the epoch or an ISO 8601 time' });

/** An opaque cursor: the position after the last item of a page (`<tag>:<number>`, base64url). */
export function encodeCursor(tag: string, position: number): string {
  return Buffer.from(`${tag}:${position}`).toString('base64url');
}

export function decodeCursor(cursor: string, tag: string, field = 'cursor'): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^([a-z]+):(\d{1,18})$/.exec(text);
  if (!m || m[1] !== tag) throw new ValidationError(field, 'not a cursor of this listing (pass next_cursor from the previous page)');
  return Number(m[2]);
}

export const cursorParam = z.string().min(1).max(64).meta({ description: 'next_cursor of the previous page' });
