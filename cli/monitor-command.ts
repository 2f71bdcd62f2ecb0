/**
 * `taskwire monitor [--url URL] [--interval MS] [--once]`: a live terminal
 * view of the cluster (workers, queue depth and throughput sparklines, p95
 * run time, recent failures), fed by the event stream (GET /api/v1/events,
 * resumed with Last-Event-ID after a dropped connection) plus the cluster and
 * worker views polled every --interval. Plain ANSI on the alternate screen;
 * `q` or Ctrl-C quits and restores the terminal. `--once` prints one frame
 * (without colour) after one interval and exits, for scripts.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { errorMessage } from '../common/errors.js';
import { URL_HELP, masterUrl } from './client-commands.js';
import { MonitorState, type MonitorCluster, type MonitorEvent, type MonitorWorker } from './monitor-state.js';
import { renderMonitor } from './monitor-view.js';
import { CliExit, EXIT, operatorRequest } from './operator-commands.js';
import { sseStream } from './sse-client.js';

interface MonitorOptions {
  url?: string;
  interval: string;
  once?: boolean;
}

async function poll(url: string | undefined, state: MonitorState): Promise<void> {
  const [cluster, workers] = await Promise.all([
    operatorRequest(url, 'GET', '/api/v1/cluster', 5000) as Promise<MonitorCluster>,
    operatorRequest(url, 'GET', '/api/v1/workers', 5000) as Promise<{ workers: MonitorWorker[] }>,
  ]);
  state.setCluster(cluster);
  state.workers = workers.workers;
}

async function followEvents(base: string, state: MonitorState, signal: AbortSignal): Promise<void> {
  let backoff = 250;
  while (!signal.aborted) {
    try {
      for await (const m of sseStream(`${base}/api/v1/events`, state.lastEventId || undefined, signal, () => (state.connected = true))) {
        state.connected = true;
        backoff = 250;
        if (m.id === undefined) continue;
        state.apply(JSON.parse(m.data) as MonitorEvent, m.id);
      }
    } catch (err) {
      if (err instanceof CliExit) throw err;
      if (signal.aborted) return;
    }
    state.connected = false;
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 5000);
  }
}

export function monitorCommand(program: Command): void {
  program
    .command('monitor')
    // Commander's own usage errors (unknown option, bad choice) exit 2 like every operator command; help exits 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.help' ? 0 : EXIT.usage))
    .description('live terminal view of the cluster: workers, queue, throughput, p95, recent failures (q quits)')
    .option('--url <url>', URL_HELP)
    .option('--interval <ms>', 'how often the cluster and worker views are read (100-60000)', '1000')
    .option('--once', 'print one frame after one interval and exit')
    .action(async (o: MonitorOptions) => {
      const out = process.stdout;
      const tty = out.isTTY === true && !o.once;
      const restore = () => {
        if (tty) out.write('\x1b[?25h\x1b[?1049l');
        if (process.stdin.isTTY && tty) process.stdin.setRawMode(false);
      };
      const fail = (err: unknown): never => {
        restore();
        process.stderr.write(`taskwire: ${errorMessage(err)}\n`);
        process.exit(err instanceof CliExit ? err.exitCode : err instanceof InvalidArgumentError ? EXIT.usage : EXIT.other);
      };
      const interval = Number(o.interval);
      if (!/^\d+$/.test(o.interval) || interval < 100 || interval > 60_000) fail(new InvalidArgumentError(`--interval: expected 100-60000 ms, got "${o.interval}"`));
      let base = '';
      try {
        base = masterUrl(o.url);
      } catch (err) {
        fail(err);
      }
      const state = new MonitorState();
      const ac = new AbortController();
      const frame = () => renderMonitor(state, { url: base, width: out.columns || 100, height: out.rows || 40, nowMs: Date.now(), color: tty && process.env.NO_COLOR === undefined });
      try {
        await poll(o.url, state); // unreachable master or a refused key: say so and stop
      } catch (err) {
        fail(err);
      }
      void followEvents(base, state, ac.signal).catch(fail);
      if (o.once) {
        await new Promise((r) => setTimeout(r, interval));
        await poll(o.url, state).catch(() => undefined);
        out.write(`${frame().join('\n')}\n`);
        ac.abort();
        process.exit(0);
      }
      const quit = () => {
        ac.abort();
        restore();
        process.exit(0);
      };
      if (tty) out.write('\x1b[?1049h\x1b[?25l');
      if (process.stdin.isTTY && tty) {
        process.stdin.setRawMode(true);
        process.stdin.resume();
        process.stdin.on('data', (d: Buffer) => {
          const k = d.toString();
          if (k === 'q' || k === 'Q' || k === '\x03' || k === '\x1b') quit();
        });
      }
      process.on('SIGINT', quit);
      process.on('SIGTERM', quit);
      const draw = () => out.write(`\x1b[H${frame().join('\x1b[K\n')}\x1b[K\x1b[J`);
      setInterval(() => void poll(o.url, state).then(() => undefined, () => (state.connected = false)), interval);
      setInterval(draw, 250);
      draw();
    });
}
