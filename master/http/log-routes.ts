/**
 * GET /api/v1/logs: the kept log lines of the master and every worker,
 * newest first in pages (`next_cursor`), filtered by level (that level and
 * above), worker, source, task, time and text (full-text over the message).
 * `?follow=true` streams new lines as Server-Sent Events (`id` = the line's
 * id; `Last-Event-ID` or `after` resumes). Any key with the read scope:
 * a cluster operator (tenant `default` with operate) reads every line; a
 * tenant's operator or admin its tenant's lines (logs/log-tenancy.ts: its
 * tasks' lines and those of workers pinned to it alone; never a cluster
 * line); a user key (no operate) the lines of its own tasks. The filters
 * apply within that; a revoked key's follow ends.
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import { schemaValidationError } from '../../common/schema-issue.js';
import { LOG_LEVEL_NAMES, type LogEntry, type LogFilter } from '../logs/log-entry.js';
import type { LogCollector } from '../logs/log-collector.js';
import { principalOf, requireScope } from './auth/http-auth.js';
import { hasScope, ownersOf, seesAll, type Authenticator, type Principal } from './auth/principal.js';
import { sendError } from './http-errors.js';
import { cursorParam, decodeCursor, encodeCursor, timeParam } from './query-params.js';
import { openSse, type SseOptions } from './sse-stream.js';

const idParam = z.string().min(1).max(128);

export const logsQuery = z
  .object({
    level: z.enum(LOG_LEVEL_NAMES).optional().meta({ description: 'lowest level shown (warn = warn, error, fatal)' }),
    worker: idParam.optional().meta({ description: 'lines published by this worker' }),
    source: idParam.optional().meta({ description: '`master` or a worker id' }),
    task: idParam.optional().meta({ description: 'lines about this task' }),
    since: timeParam.optional(),
    until: timeParam.optional(),
    q: z.string().min(1).max(200).optional().meta({ description: 'words that must all occur in the message (full-text)' }),
    cursor: cursorParam.optional(),
    after: z.coerce.number().int().min(0).optional().meta({ description: 'only lines with a larger id, oldest first (and where a follow starts)' }),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    follow: z.enum(['true', 'false']).default('false'),
  })
  .strict();

export type LogsQuery = z.infer<typeof logsQuery>;

export function logView(e: LogEntry): Record<string, unknown> {
  return { id: e.id, ts: new Date(e.ts).toISOString(), level: e.level, source: e.source, worker_id: e.worker_id, task_id: e.task_id, tenant: e.tenant, msg: e.msg };
}

/** The lines `p` may read: every line (cluster operator), its tenant's (a tenant's operator), its own tasks' (a user key). */
export function logScope(p: Principal): Pick<LogFilter, 'tenant' | 'owners'> {
  if (seesAll(p)) return {};
  return { tenant: p.tenant, ...(!hasScope(p, 'operate') && { owners: ownersOf(p) }) };
}

const MAX_BUFFERED = 10_000;

export function logRoutes(logs: LogCollector, auth?: Authenticator): Router {
  const r = Router();
  r.get('/logs', async (req, res) => {
    let q: LogsQuery;
    try {
      const p = principalOf(res);
      requireScope(p, 'read');
      const parsed = logsQuery.safeParse(req.query);
      if (!parsed.success) throw schemaValidationError(parsed.error, '', 'query');
      q = parsed.data;
      const filter: LogFilter = { minLevel: q.level, workerId: q.worker, source: q.source, taskId: q.task, sinceTs: q.since, untilTs: q.until, text: q.q, ...logScope(p) };
      if (q.follow === 'true') {
        const header = req.headers['last-event-id'];
        const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
        follow(res, req, logs, filter, fromHeader ?? q.after ?? logs.store.lastId, auth && { keyId: p.id, auth });
        return;
      }
      const beforeId = q.cursor === undefined ? undefined : decodeCursor(q.cursor, 'l');
      const page = await logs.store.page({ filter, limit: q.limit, beforeId, afterId: q.after });
      const last = page.at(-1);
      const more = page.length === q.limit && last !== undefined;
      res.json({
        logs: page.map(logView),
        next_cursor: more && q.after === undefined ? encodeCursor('l', last.id) : null,
        last_id: logs.store.lastId,
      });
    } catch (err) {
      sendError(res, err);
    }
  });
  return r;
}

function follow(
  res: Response,
  req: { on(ev: 'close', fn: () => void): unknown },
  logs: LogCollector,
  filter: LogFilter,
  from: number,
  invalidation: SseOptions['invalidation'],
): void {
  const sse = openSse(req, res, { comment: 'taskwire logs', ...(invalidation && { invalidation }) });
  let lastSent = from;
  let buffered: LogEntry[] = [];
  let replaying = true;
  const send = (e: LogEntry) => {
    if (e.id <= lastSent) return;
    res.write(`id: ${e.id}\nevent: log\ndata: ${JSON.stringify(logView(e))}\n\n`);
    lastSent = e.id;
  };
  const stop = logs.follow({
    filter,
    deliver: (entries) => {
      if (sse.closed) return;
      if (replaying || res.writableNeedDrain) {
        buffered.push(...entries);
        if (buffered.length > MAX_BUFFERED) {
          res.write(`event: overflow\ndata: {"message":"client too slow: resume with Last-Event-ID ${lastSent}"}\n\n`);
          sse.end();
        }
        return;
      }
      for (const e of entries) send(e);
    },
  });
  sse.onEnd(stop);
  res.on('drain', () => {
    if (replaying || sse.closed) return;
    const b = buffered;
    buffered = [];
    for (const e of b) send(e);
  });
  // Replay what is kept after `from` in pages, waiting for the socket to drain (bounded memory).
  const page = async (): Promise<void> => {
    if (sse.closed) return;
    if (res.writableNeedDrain) {
      res.once('drain', () => void page());
      return;
    }
    let entries: LogEntry[];
    try {
      entries = await logs.store.page({ filter, limit: 1000, afterId: lastSent });
    } catch {
      sse.end(); // the store cannot be read: the client resumes with Last-Event-ID
      return;
    }
    if (sse.closed) return;
    for (const e of entries) send(e);
    if (entries.length === 1000) {
      setImmediate(() => void page());
      return;
    }
    replaying = false;
    const b = buffered;
    buffered = [];
    for (const e of b) send(e);
  };
  void page();
}
