/**
 * The clients of `npm run bench -- dashboard-cost`, in a process of their own
 * (their CPU is not the master's): `node dashboard-clients.js <url>
 * <dashboards> <followers>`. A dashboard client does what an open overview
 * page does: reads back the kept events (`follow=false`), then follows
 * GET /api/v1/events live, as the overview does (only the types it counts:
 * queued and the finals; web/src/dashboard/live-stats.ts eventsPath), and
 * polls GET /api/v1/cluster and /api/v1/dashboard/queue every 2 s. A follower does what
 * `taskwire events --follow` does (the CLI's own SSE reader, each event
 * parsed). Prints `ready` once every stream is open; on SIGTERM prints one
 * JSON line of counts and exits.
 */
import { sseStream } from '../cli/sse-client.js';

const [url, dashboardsArg, followersArg] = process.argv.slice(2);
const dashboards = Number(dashboardsArg);
const followers = Number(followersArg);
const POLL_MS = 2000;
/** The overview's stream (eventsPath(OverviewPage.eventTypes) in the dashboard). */
const OVERVIEW_STREAM = '/api/v1/events?type=task.queued,task.succeeded,task.failed,task.cancelled,task.expired';
const counts = { events: 0, polls: 0, poll_errors: 0, stream_errors: 0, reconnects: 0 };
const controller = new AbortController();
let open = 0;
const opened = () => {
  if (++open === dashboards + followers) process.stdout.write('ready\n');
};

/** Follows the stream; after a drop (a slow client is cut with an `overflow` event) resumes with Last-Event-ID, as the CLI and the dashboard do. */
async function follow(path = '/api/v1/events'): Promise<void> {
  let last: number | undefined;
  let first = true;
  while (!controller.signal.aborted) {
    try {
      for await (const m of sseStream(`${url}${path}`, last, controller.signal, () => (first ? opened() : counts.reconnects++, (first = false)))) {
        if (m.id === undefined) continue;
        last = m.id;
        JSON.parse(m.data);
        counts.events++;
      }
    } catch {
      if (controller.signal.aborted) return;
      counts.stream_errors++;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function get(path: string): Promise<void> {
  try {
    const res = await fetch(`${url}${path}`, { signal: controller.signal });
    await res.json();
    if (res.ok) counts.polls++;
    else counts.poll_errors++;
  } catch {
    if (!controller.signal.aborted) counts.poll_errors++;
  }
}

const timers: NodeJS.Timeout[] = [];
for (let i = 0; i < dashboards; i++) {
  void (async () => {
    await get('/api/v1/events?follow=false&since=0&limit=5000');
    await get('/api/v1/cluster');
    void follow(OVERVIEW_STREAM);
    // Pages poll at their own phase.
    await new Promise((r) => setTimeout(r, (POLL_MS * i) / dashboards));
    timers.push(setInterval(() => void Promise.all([get('/api/v1/cluster'), get('/api/v1/dashboard/queue')]), POLL_MS));
  })();
}
for (let i = 0; i < followers; i++) void follow();

process.on('SIGTERM', () => {
  for (const t of timers) clearInterval(t);
  controller.abort();
  process.stdout.write(`${JSON.stringify(counts)}\n`, () => process.exit(0));
});
