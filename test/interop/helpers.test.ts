/**
 * The test helpers themselves: Mosquitto start/restart/close (retained
 * messages survive a restart only with persistence) and process teardown
 * (SIGTERM, SIGKILL fallback, the whole process group).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { MOSQUITTO_BINARY, Mosquitto, freePort, mosquittoAvailable, spawnMosquittoSub } from '../helpers/mosquitto.js';
import { ProcessGroup } from '../helpers/processes.js';
import { lateRetained } from './interop-checks.js';

const available = mosquittoAvailable();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function publishRetained(port: number, topic: string, payload: string): void {
  const r = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-q', '1', '-r', '-t', topic, '-m', payload], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  expect(r.status, `mosquitto_pub failed: ${r.stderr}`).toBe(0);
}

describe.skipIf(!available)(`helpers: Mosquitto (${MOSQUITTO_BINARY})`, () => {
  const procs = new ProcessGroup();
  const brokers: Mosquitto[] = [];
  afterAll(async () => {
    await procs.stopAll();
    await Promise.allSettled(brokers.map((b) => b.close()));
  }, 30_000);

  it('restart() keeps the port; retained messages survive it only with persistence', async () => {
    const durable = await Mosquitto.start({ persistence: true });
    const volatile = await Mosquitto.start();
    brokers.push(durable, volatile);
    expect(durable.config()).toMatch(/^set_tcp_nodelay true$/m);
    expect(volatile.config()).toMatch(/^persistence false$/m);
    expect(durable.port).not.toBe(volatile.port);

    for (const b of [durable, volatile]) publishRetained(b.port, 'helper/test', `kept-${b.port}`);
    const [portBefore, pidBefore] = [durable.port, durable.pid];
    await durable.restart();
    await volatile.restart();
    expect(durable.port).toBe(portBefore);
    expect(durable.pid).not.toBe(pidBefore);
    expect(isAlive(pidBefore)).toBe(false);

    const kept = await lateRetained(procs, durable, 'helper/test');
    expect(kept).toEqual({ retained: true, topic: 'helper/test', payload: `kept-${durable.port}` });

    // without persistence nothing is retained any more: the late subscriber times out (-W 1) empty
    const none = spawnMosquittoSub(procs, 'late volatile', { host: volatile.host, port: volatile.port, topics: ['helper/test'], count: 1, timeoutSeconds: 1, debug: false });
    await none.waitForExit(10_000);
    expect(none.lines.filter((l) => l.stream === 'stdout' && l.text.length > 0)).toEqual([]);
  }, 60_000);

  it('kill9() and close(): the broker is gone and its port free; close() is idempotent', async () => {
    const b = await Mosquitto.start();
    brokers.push(b);
    const pid = b.pid;
    await b.kill9();
    expect(isAlive(pid)).toBe(false);
    await b.restart();
    expect(b.running).toBe(true);
    const pid2 = b.pid;
    await b.close();
    await b.close();
    expect(isAlive(pid2)).toBe(false);
    await expect(b.restart()).rejects.toThrow(/after close/);
  }, 30_000);
});

describe('helpers: process teardown', () => {
  it('stop() falls back to SIGKILL for a process that ignores SIGTERM, and kills its process group', async () => {
    const group = new ProcessGroup();
    // a parent that ignores SIGTERM and has a child of its own (like `taskwire start`)
    const script = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
      console.log('child ' + c.pid);
      setInterval(() => {}, 1000);`;
    const p = group.spawn('stubborn', process.execPath, ['-e', script]);
    try {
      const line = await p.waitForLine(/^child \d+$/);
      const childPid = Number(line.text.split(' ')[1]);
      expect(isAlive(childPid)).toBe(true);
      const exit = await p.stop(300);
      expect(exit.signal).toBe('SIGKILL');
      expect(p.matching(/ignoring SIGTERM/).length).toBe(1);
      await expect.poll(() => isAlive(childPid), { timeout: 5000 }).toBe(false);
      expect(await p.stop()).toBe(exit); // idempotent
    } finally {
      await group.stopAll(300);
    }
  }, 30_000);

  it('waitForLine() rejects with the output when the process exits first', async () => {
    const group = new ProcessGroup();
    const p = group.spawn('short', process.execPath, ['-e', 'console.log("bye"); process.exit(3)']);
    try {
      await expect(p.waitForLine(/never printed/, 10_000)).rejects.toThrow(/exited \(code 3[\s\S]*bye/);
    } finally {
      await group.stopAll();
    }
  });

  it('freePort() returns a bindable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65536);
  });
});
