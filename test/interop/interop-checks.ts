/**
 * Checks shared by the interop tests: a log line as an operator sees it with
 * mosquitto_sub, and a late subscriber reading one retained message.
 */
import { expect } from 'vitest';
import { logLineCodec } from '../../common/wire.js';
import { spawnMosquittoSub, type SubMessage } from '../helpers/mosquitto.js';
import type { ProcessGroup } from '../helpers/processes.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** A `{root}/logs/{source}` payload: one JSON object with ts, level, source (= topic level), msg. */
export function expectLogLine(m: SubMessage): void {
  const source = m.topic.slice(m.topic.lastIndexOf('/') + 1);
  let json: unknown;
  expect(() => (json = JSON.parse(m.payload)), `payload on ${m.topic} is JSON: ${m.payload}`).not.toThrow();
  expect(json, m.payload).toBeTypeOf('object');
  const rec = json as Record<string, unknown>;
  expect(rec.ts, m.payload).toBeTypeOf('string');
  expect(Number.isNaN(Date.parse(String(rec.ts))), `ts is a date: ${m.payload}`).toBe(false);
  expect(LEVELS, m.payload).toContain(rec.level);
  expect(rec.source, m.payload).toBe(source);
  expect(rec.msg, m.payload).toBeTypeOf('string');
  expect(String(rec.msg).length, m.payload).toBeGreaterThan(0);
  // and it is a valid taskwire.v1.LogLine
  expect(logLineCodec.decode(m.payload).source).toBe(source);
}

export interface RetainedMessage {
  retained: boolean;
  topic: string;
  payload: string;
}

/**
 * `mosquitto_sub -C 1 -W <s> -t <topic> -F '%r %t %p'`: a subscriber that
 * connects now and exits after the first message, i.e. the retained one.
 */
export interface BrokerAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export async function lateRetained(group: ProcessGroup, broker: BrokerAddress, topic: string, timeoutSeconds = 10): Promise<RetainedMessage> {
  const sub = spawnMosquittoSub(group, `late:${topic}`, {
    // not a spread: a Mosquitto instance has host as a getter
    host: broker.host,
    port: broker.port,
    username: broker.username,
    password: broker.password,
    topics: [topic],
    count: 1,
    timeoutSeconds,
    debug: false,
    extraArgs: ['-F', '%r %t %p'],
  });
  const exit = await sub.waitForExit((timeoutSeconds + 5) * 1000);
  const line = sub.lines.find((l) => l.stream === 'stdout' && l.text.length > 0);
  expect(exit.code, `mosquitto_sub -C 1 -t ${topic} exited ${exit.code}:\n${sub.output()}`).toBe(0);
  expect(line, `mosquitto_sub printed nothing for ${topic}`).toBeDefined();
  const m = /^([01]) (\S+) (.*)$/.exec(line!.text);
  expect(m, `unexpected mosquitto_sub output: ${line!.text}`).not.toBeNull();
  return { retained: m![1] === '1', topic: m![2]!, payload: m![3]! };
}
