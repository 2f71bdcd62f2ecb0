/**
 * Structured logs (pino) to stdout (pretty lines on a terminal, JSON otherwise) and, once a broker connection exists, to
 * `{root}/logs/{source}` as LogLine JSON (QoS 0). Publishing never throws and
 * never logs about itself (no loops).
 */
import pino, { type Logger, type Level } from 'pino';
import type { LogLine } from './wire.js';
import { PrettyStream, consoleLogFormat } from './pretty-log.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LABELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Where log lines go on MQTT; set once the client is connected. */
export interface LogLineSink {
  publishLog(line: LogLine): void;
}

/** A pino destination that forwards to a swappable LogLineSink. */
export class MqttLogStream {
  private sink: LogLineSink | undefined;
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  attach(sink: LogLineSink | undefined): void {
    this.sink = sink;
  }

  write(chunk: string): void {
    const sink = this.sink;
    if (!sink) return;
    try {
      const rec = JSON.parse(chunk) as Record<string, unknown>;
      const line: LogLine = {
        ts: new Date(typeof rec.time === 'number' ? rec.time : Date.now()).toISOString(),
        level: LABELS[Number(rec.level)] ?? 'info',
        source: this.source,
        msg: typeof rec.msg === 'string' ? rec.msg : '',
        task_id: typeof rec.task_id === 'string' ? rec.task_id : '',
      };
      sink.publishLog(line);
    } catch {
      // a log line that cannot be forwarded is still on stdout
    }
  }
}

export interface LoggerOptions {
  source: string;
  level?: LogLevel;
  /** Level forwarded to MQTT (default "info"). */
  mqttLevel?: Level;
  /** stdout by default; tests pass a sink or `false` for no local output. */
  destination?: NodeJS.WritableStream | false;
}

export function createLogger(options: LoggerOptions): { logger: Logger; mqtt: MqttLogStream } {
  const mqtt = new MqttLogStream(options.source);
  const streams: pino.StreamEntry[] = [{ level: options.mqttLevel ?? 'info', stream: mqtt }];
  if (options.destination !== false) {
    streams.push({ level: 'trace', stream: options.destination ?? consoleDestination() });
  }
  const logger = pino(
    { level: options.level ?? 'info', base: { source: options.source }, timestamp: pino.stdTimeFunctions.epochTime },
    pino.multistream(streams),
  );
  return { logger, mqtt };
}

/** stdout: pretty lines on a terminal, JSON otherwise (TASKWIRE_LOG_FORMAT overrides). */
function consoleDestination(): pino.DestinationStream {
  if (consoleLogFormat(process.env, process.stdout.isTTY === true) === 'json') return pino.destination({ fd: 1, sync: false });
  return new PrettyStream(process.stdout, process.stdout.isTTY === true && process.env.NO_COLOR === undefined);
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
