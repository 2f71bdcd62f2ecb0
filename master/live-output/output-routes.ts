/**
 * GET /api/v1/tasks/:id/output: the streamed output of a running task as
 * Server-Sent Events, for the dashboard's task page (operate scope; a task
 * of another tenant answers 404 as everywhere). Events:
 *
 *   snapshot  {attempt, seq, text, truncated}  the output so far (first, once per connection)
 *   chunk     {attempt, seq, text}             each further piece; a higher attempt voids the text before
 *   done      {status}                         the task ended: read its result; the stream ends
 *
 * A task that already ended answers `done` at once. No resume id: a client
 * that reconnects gets a fresh snapshot. A client that does not read is
 * dropped once 1 MiB waits for it (it reconnects to a snapshot).
 */
import { Router, type Request, type Response } from 'express';
import { principalOf, requireOperator } from '../http/auth/http-auth.js';
import type { Authenticator } from '../http/auth/principal.js';
import { visibleTask } from '../http/auth/task-visibility.js';
import { sendError } from '../http/http-errors.js';
import type { TaskRecord } from '../core/task-record.js';
import type { LiveOutput } from './live-output.js';
import { openSse } from '../http/sse-stream.js';

const MAX_PENDING_BYTES = 1024 * 1024;

export function outputRoutes(output: LiveOutput, tasks: { get(id: string): TaskRecord | undefined }, auth?: Authenticator, store?: { preload?(q: { id: string }): Promise<void> }): Router {
  const r = Router();
  r.get('/tasks/:id/output', async (req: Request<{ id: string }>, res: Response) => {
    const p = principalOf(res);
    // Multi-master: a task another master runs is read from the database (its output comes through master/cluster-relay/).
    if (store?.preload) await store.preload({ id: req.params.id }).catch(() => undefined);
    try {
      requireOperator(p);
      visibleTask(tasks, p, req.params.id);
    } catch (err) {
      sendError(res, err);
      return;
    }
    const sse = openSse(req, res, auth ? { invalidation: { keyId: p.id, auth } } : {});
    const send = (event: string, data: unknown) => {
      if (sse.closed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      if (res.writableLength > MAX_PENDING_BYTES) sse.end();
    };
    const watched = output.watch(req.params.id, {
      chunk: (attempt, seq, text) => send('chunk', { attempt, seq, text }),
      done: (t) => {
        send('done', { status: t.status });
        // After the handler returned (a task that already ended answers at once).
        setImmediate(() => sse.end());
      },
    });
    sse.onEnd(watched.stop);
    if (watched.snapshot) send('snapshot', watched.snapshot);
  });
  return r;
}
