/**
 * One frame of `taskwire monitor` as lines of text with plain ANSI colour
 * (no library): header, counts, throughput and queue sparklines, workers,
 * recent failures. Pure: state in, lines out, cut to the terminal's width.
 */
import type { MonitorState } from './monitor-state.js';

const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  const max = Math.max(1, ...values);
  return values.map((v) => (v <= 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))]!)).join('');
}

export interface ViewOptions {
  url: string;
  width: number;
  height: number;
  nowMs: number;
  color: boolean;
}

/** Visible length of a string with ANSI escapes. */
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function cut(line: string, width: number): string {
  if (visible(line).length <= width) return line;
  // Cut on the visible characters, keeping escapes.
  let out = '';
  let n = 0;
  for (let i = 0; i < line.length && n < width; ) {
    const m = /^\x1b\[[0-9;]*m/.exec(line.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += line[i++];
    n++;
  }
  return `${out}\x1b[0m`;
}

export function renderMonitor(s: MonitorState, o: ViewOptions): string[] {
  const c = (code: string, text: string) => (o.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const bold = (t: string) => c('1', t);
  const dim = (t: string) => c('2', t);
  const lines: string[] = [];
  const status = s.connected ? c('32', '● live') : c('33', '○ connecting');
  lines.push(`${bold('taskwire monitor')}  ${o.url}  ${status}  ${dim(new Date(o.nowMs).toISOString().slice(11, 19))}  ${dim('q quits')}`);
  const cl = s.cluster;
  lines.push(
    cl
      ? `workers ${bold(String(cl.workers.online))} online, ${cl.workers.busy} busy, ${cl.workers.draining} draining, ${cl.workers.offline} offline   queue ${bold(String(cl.queued))}   running ${bold(String(cl.running))}/${cl.capacity}`
      : 'workers -   queue -   running -',
  );
  const tput = s.throughput(o.nowMs);
  const last10 = tput.slice(-10).reduce((a, b) => a + b, 0) / 10;
  const p95 = s.p95RunMs();
  lines.push(
    `tasks done ${bold(String(s.succeeded))}  failed ${s.failed > 0 ? c('31', String(s.failed)) : '0'}  retried ${s.retried}  throughput ${bold(last10.toFixed(1))}/s  p95 run ${p95 === undefined ? '-' : `${p95} ms`}`,
  );
  lines.push('');
  lines.push(`${dim('throughput /s, last 60 s')}  ${c('36', sparkline(tput))}`);
  lines.push(`${dim('queue depth,  last 60 s')}  ${c('35', sparkline(s.queueDepth))}`);
  lines.push('');
  lines.push(bold('WORKER'.padEnd(28) + 'STATE'.padEnd(10) + 'RUNNING'.padEnd(9) + 'DONE'.padEnd(8) + 'FAILED'.padEnd(8) + 'P95 MS'.padEnd(8) + 'KINDS'));
  const room = Math.max(1, o.height - lines.length - 4 - Math.min(5, Math.max(1, s.failures.length)));
  const workers = [...s.workers].sort((a, b) => a.id.localeCompare(b.id));
  for (const w of workers.slice(0, room)) {
    const state = w.state === 'online' ? c('32', w.state.padEnd(10)) : w.state === 'draining' ? c('33', w.state.padEnd(10)) : dim(w.state.padEnd(10));
    lines.push(`${w.id.slice(0, 27).padEnd(28)}${state}${`${w.running}/${w.capacity}`.padEnd(9)}${String(w.tasks_succeeded ?? '-').padEnd(8)}${String(w.tasks_failed ?? '-').padEnd(8)}${String(w.run_ms_p95 ?? '-').padEnd(8)}${w.kinds.join(',')}`);
  }
  if (workers.length > room) lines.push(dim(`… ${workers.length - room} more`));
  if (workers.length === 0) lines.push(dim('(no workers)'));
  lines.push('');
  lines.push(bold('RECENT FAILURES'));
  if (s.failures.length === 0) lines.push(dim('(none)'));
  for (const f of s.failures) lines.push(`${dim(new Date(f.ts).toISOString().slice(11, 19))}  ${c('31', f.type.slice(5).padEnd(8))} ${f.taskId.slice(0, 36)}  ${f.kind}  ${f.error}`);
  return lines.slice(0, o.height).map((l) => cut(l, o.width));
}
