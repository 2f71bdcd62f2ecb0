/**
 * Console logs: pretty lines on a terminal, JSON otherwise. The formatter is
 * checked directly; the TTY choice with a real worker process under `script`
 * (a pseudo-terminal) next to the same process on a pipe.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { consoleLogFormat, formatPretty } from '../../common/pretty-log.js';
import { TASKWIRE_CLI, assertCliBuilt } from '../helpers/processes.js';

const hasScript = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).status === 0;

describe('pretty console lines', () => {
  it('formats level, time, source, message and fields; no escape codes without colour', () => {
    const line = formatPretty(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 678), source: 'w1', msg: 'MQTT broker not reachable', url: 'mqtt://h:1', attempts: 2, err: 'connect ECONNREFUSED' }), false);
    expect(line).toBe('03:04:05.678 WARN  w1  MQTT broker not reachable  url=mqtt://h:1 attempts=2 err="connect ECONNREFUSED"\n');
    expect(formatPretty('{"level":30,"msg":"x"}', true)).toContain('\u001b[32mINFO \u001b[0m');
    expect(formatPretty('not json', false)).toBe('not json\n');
  });

  it('pretty on a TTY, JSON otherwise, TASKWIRE_LOG_FORMAT overrides', () => {
    expect(consoleLogFormat({}, true)).toBe('pretty');
    expect(consoleLogFormat({}, false)).toBe('json');
    expect(consoleLogFormat({ TASKWIRE_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(consoleLogFormat({ TASKWIRE_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it.skipIf(!hasScript)('a real worker prints pretty lines on a terminal and JSON on a pipe', () => {
    assertCliBuilt();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TASKWIRE_WORKER_ID: 'tty-worker', TASKWIRE_WORKER_KINDS: 'echo', TASKWIRE_CONNECT_TIMEOUT_MS: '1200', NO_COLOR: '1' };
    const cmd = `'${process.execPath}' '${TASKWIRE_CLI}' worker --master 127.0.0.1:1`;
    const tty = spawnSync('script', ['-qfec', cmd, '/dev/null'], { env, encoding: 'utf8', timeout: 20_000 });
    expect(tty.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  tty-worker  MQTT broker not reachable/m);
    expect(tty.stdout).not.toMatch(/^\{"level"/m);
    const pipe = spawnSync(process.execPath, [TASKWIRE_CLI, 'worker', '--master', '127.0.0.1:1'], { env, encoding: 'utf8', timeout: 20_000 });
    expect(pipe.stdout).toMatch(/^\{"level":40,.*"msg":"MQTT broker not reachable/m);
  });
});
