/**
 * Human-readable console lines for a terminal: `12:03:04.123 INFO  master  msg key=value ...`
 * from pino's JSON records. Colour only when the stream is a TTY and NO_COLOR
 * is unset; without colour the line is plain text (safe for any terminal or file).
 * Which format the console gets: TASKWIRE_LOG_FORMAT=pretty|json, else pretty on a
 * TTY and JSON otherwise (pipes, files, supervisors, tests).
 */
export type LogFormat = 'pretty' | 'json';

const NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
const SKIP = new Set(['level', 'time', 'msg', 'source', 'pid', 'hostname']);

export function consoleLogFormat(env: Record<string, string | undefined>, isTty: boolean): LogFormat {
  const f = env.TASKWIRE_LOG_FORMAT?.trim().toLowerCase();
  if (f === 'json' || f === 'pretty') return f;
  return isTty ? 'pretty' : 'json';
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON record -> one line (with trailing newline); a non-JSON chunk is passed through. */
export function formatPretty(chunk: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(chunk) as Record<string, unknown>;
  } catch {
    return chunk.endsWith('\n') ? chunk : `${chunk}\n`;
  }
  const level = Number(rec.level);
  const time = new Date(typeof rec.time === 'number' ? rec.time : Date.now()).toISOString().slice(11, 23);
  const name = (NAMES[level] ?? 'INFO').padEnd(5);
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const lvl = colour ? `\u001b[${COLOURS[level] ?? '0'}m${name}\u001b[0m` : name;
  const src = typeof rec.source === 'string' ? `${rec.source}  ` : '';
  return `${time} ${lvl} ${src}${typeof rec.msg === 'string' ? rec.msg : ''}${fields ? `  ${fields}` : ''}\n`;
}

/** A pino destination that writes pretty lines to `out`. */
export class PrettyStream {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly colour: boolean,
  ) {}

  write(chunk: string): void {
    this.out.write(formatPretty(chunk, this.colour));
  }
}
