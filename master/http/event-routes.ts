/**
 * GET /api/v1/events: the durable event stream as Server-Sent Events
 * (`curl -N`), resumable from `Last-Event-ID` or `?since=<id>`, with
 * server-side filters (`type` (comma list), `task`, `worker`, `kind`,
 * `status`, `batch`: one image batch's progress). It replays what the outbox holds after that id, then follows
 * live; ids only grow, so a client that reconnects (also after a master
 * restart) gets each missed event once, in order. `?follow=false` answers
 * one JSON page instead (`{events, last_id}`). Needs the read scope; what a
 * key sees is what its task listing shows (auth/task-visibility.ts): a
 * cluster operator every tenant's events, a tenant's operator its tenant's,
 * a user key only the task events of its own tasks (by the events' `owner`;
 * no worker or cluster event). A revoked key's open stream ends.
 */
import { Router } from 'express';
import { z } from 'zod';
import { errorMessage, TaskwireError } from '../../common/errors.js';
import { schemaValidationError } from '../../common/schema-issue.js';
import { TASK_EVENT_TYPES } from '../core/task-events.js';
import type { EventFilter, StoredEvent } from '../events/event-outbox.js';
import type { EventLog } from '../events/event-log.js';
import { principalOf, requireScope } from './auth/http-auth.js';
import type { Authenticator, Principal } from './auth/principal.js';
import { listingScope } from './auth/task-visibility.js';
import { sendError } from './http-errors.js';
import { openSse } from './sse-stream.js';

/** The query GET /events validates (also in the OpenAPI document). */
export const query = z.object({
  since: z.coerce.number().int().min(0).optional(),
  type: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(TASK_EVENT_TYPES as [string, ...string[]])))
    .optional(),
  task: z.string().min(1).max(128).optional(),
  worker: z.string().min(1).max(128).optional(),
  kind: z.string().min(1).max(64).optional(),
  batch: z.string().min(1).max(128).optional(),
  status: z.enum(['succeeded', 'failed', 'cancelled', 'expired']).optional(),
  follow: z.enum(['true', 'false']).default('true'),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/**
 * The filter of a request, limited to what `p` may see: its tenant (not a
 * cluster operator) and, for a key without the operate scope, the task
 * events of its own tasks (its key's and its user's other keys', taken now:
 * a key added later shows from the next connection on).
 */
export function scopedFilter(q: Pick<z.infer<typeof query>, 'type' | 'task' | 'worker' | 'kind' | 'status' | 'batch'>, p: Principal): EventFilter {
  const scope = listingScope(p);
  return {
    types: q.type ? new Set(q.type) : undefined,
    taskId: q.task,
    workerId: q.worker,
    kind: q.kind,
    status: q.status,
    batchId: q.batch,
    tenant: scope.tenant,
    owners: scope.owners ? new Set(scope.owners) : undefined,
  };
}

/** Events a slow follower may have waiting before it is cut off (it resumes from its last id). */
const MAX_BUFFERED = 10_000;
const PAGE = 1000;

/**
 * The SSE frames of one event log's events, shared within an event-loop
 * turn: the event log hands one delivery's batches (one array per filter)
 * to every follower in one turn, so an event in several filters' batches,
 * or replayed to several followers at once, is serialized once. The frames
 * are dropped at the end of the turn: kept longer (a ring of recent ids)
 * they outlived the young generation and made the collector copy and
 * promote every frame (its CPU showed in the bench's profile). One per
 * event log: ids of different masters' logs in one process are different
 * events.
 */
class FrameCache {
  private readonly turn = new Map<number, string>();
  private clearing = false;
  /** The frames of a batch (ids ascending) as one buffer, made once per batch array. */
  private readonly batches = new WeakMap<readonly StoredEvent[], Buffer>();

  frame(s: StoredEvent): string {
    let f = this.turn.get(s.id);
    if (f !== undefined) return f;
    f = `id: ${s.id}\nevent: ${s.event.type}\ndata: ${JSON.stringify(s.event)}\n\n`;
    this.turn.set(s.id, f);
    if (!this.clearing) {
      this.clearing = true;
      queueMicrotask(() => {
        this.turn.clear();
        this.clearing = false;
      });
    }
    return f;
  }

  /**
   * The event log hands the same array to every follower with the same
   * filter, so however many follow, a live batch is encoded once (also for
   * a follower that holds it until its socket drains).
   */
  batchBytes(batch: readonly StoredEvent[]): Buffer {
    let b = this.batches.get(batch);
    if (b === undefined) {
      let text = '';
      for (const s of batch) text += this.frame(s);
      this.batches.set(batch, (b = Buffer.from(text)));
    }
    return b;
  }
}

export function eventRoutes(log: EventLog, auth?: Authenticator): Router {
  const r = Router();
  const frames = new FrameCache();
  r.get('/events', async (req, res) => {
    let q: z.infer<typeof query>;
    const p = principalOf(res);
    try {
      requireScope(p, 'read');
      const parsed = query.safeParse(req.query);
      if (!parsed.success) throw schemaValidationError(parsed.error, '', 'query');
      q = parsed.data;
    } catch (err) {
      sendError(res, err);
      return;
    }
    const header = req.headers['last-event-id'];
    const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
    let lastSent = fromHeader ?? q.since ?? log.lastId; // no position: from now on
    const filter = scopedFilter(q, p);
    if (q.follow === 'false') {
      let events: StoredEvent[];
      try {
        await log.settled(); // what happened before this request is in the page
        events = await log.after(q.since ?? fromHeader ?? 0, filter, q.limit);
      } catch (err) {
        sendError(res, new TaskwireError('UNAVAILABLE', `the event store cannot be read (${errorMessage(err)}); retry shortly`));
        return;
      }
      res.json({ events: events.map((s) => ({ id: s.id, ...s.event })), last_id: log.lastId });
      return;
    }
    // A revoked or rotated key loses its open stream at once.
    const sse = openSse(req, res, { comment: 'taskwire event stream', ...(auth && { invalidation: { keyId: p.id, auth } }) });
    /** What is newer than the last sent, in one write. */
    const send = (batch: readonly StoredEvent[]) => {
      if (batch.length === 0) return;
      if (batch[0]!.id > lastSent) {
        // All of it is new (the usual live case): the batch's bytes, encoded once for every follower it goes to.
        res.write(frames.batchBytes(batch));
        lastSent = batch[batch.length - 1]!.id;
        return;
      }
      let out = '';
      for (const s of batch) if (s.id > lastSent) (out += frames.frame(s)), (lastSent = s.id);
      if (out) res.write(out);
    };
    // Follow first, hold live batches while replaying (or while the client does not read), then send what is newer.
    // The batches are held as they came (shared arrays, their bytes shared too), bounded by their events.
    let replaying = true;
    let held: (readonly StoredEvent[])[] = [];
    let heldEvents = 0;
    const stop = log.follow({
      filter,
      deliver: (batch) => {
        if (sse.closed) return;
        if (replaying || res.writableNeedDrain) {
          held.push(batch);
          heldEvents += batch.length;
          if (heldEvents > MAX_BUFFERED) {
            res.write(`event: overflow\ndata: {"message":"client too slow: resume with Last-Event-ID ${lastSent}"}\n\n`);
            sse.end();
          }
          return;
        }
        send(batch);
      },
    });
    sse.onEnd(() => {
      stop();
      held = [];
    });
    const sendHeld = () => {
      if (held.length === 0) return;
      const b = held;
      held = [];
      heldEvents = 0;
      res.cork(); // one writev for all of them
      for (const batch of b) send(batch);
      res.uncork();
    };
    res.on('drain', () => {
      if (!replaying && !sse.closed) sendHeld();
    });
    // Replay in pages, yielding between them so the master keeps dispatching.
    const page = async () => {
      if (sse.closed) return;
      const until = log.lastId;
      let events: StoredEvent[];
      try {
        events = lastSent < until ? await log.after(lastSent, filter, PAGE) : [];
      } catch {
        sse.end(); // the store cannot be read: the client resumes with Last-Event-ID
        return;
      }
      if (sse.closed) return;
      send(events);
      if (events.length === PAGE) {
        setImmediate(() => void page());
        return;
      }
      replaying = false;
      sendHeld();
    };
    void page();
  });
  return r;
}
