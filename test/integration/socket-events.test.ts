/**
 * The Socket.IO `/events` namespace: the event stream with its own auth chain
 * (principal, read scope), server-side filters, and resume by id (also
 * across a master restart on the same data dir): each missed event once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTask, startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import { followSocket as follow, type SocketEvent } from '../helpers/event-stream.js';

type Ev = SocketEvent;

async function stored(c: TestCluster, since: number): Promise<Ev[]> {
  return ((await (await fetch(`${c.httpUrl}/api/v1/events?follow=false&since=${since}&limit=10000`)).json()) as { events: Ev[] }).events;
}

describe('Socket.IO /events', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('streams events, filters, and resumes by id across a disconnect and a master restart: no gap, no duplicate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-sio-events-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    let c = await startCluster({ workers: 1, master: { dataDir: dir } });
    cleanup.push(() => c.close());
    await c.waitForWorkers(1);
    const all = follow(c.httpUrl, { auth: { since: 0 } });
    const finals = follow(c.httpUrl, { query: { type: 'task.succeeded' } });
    cleanup.push(() => all.socket.close(), () => finals.socket.close());
    await Promise.all([all.connected, finals.connected]);
    const first: { id: string }[] = [];
    for (let i = 0; i < 3; i++) first.push(await runTask(c.httpUrl, { kind: 'echo', input: { text: `sio ${i}` } }));
    await waitFor(() => first.every((t) => all.events.some((e) => e.type === 'task.succeeded' && e.task_id === t.id)), 'the first tasks on the stream');
    await waitFor(() => finals.events.length === 3, 'three finals');
    expect(finals.events.every((e) => e.type === 'task.succeeded')).toBe(true);
    expect(all.events.map((e) => e.id)).toEqual((await stored(c, 0)).map((e) => e.id));

    // Disconnect, more tasks, restart the master on the same data dir, more tasks; resume from the last id.
    all.socket.close();
    const lastId = all.events.at(-1)!.id;
    for (let i = 0; i < 2; i++) await runTask(c.httpUrl, { kind: 'echo', input: { text: `missed ${i}` } });
    await c.close();
    cleanup.pop();
    c = await startCluster({ workers: 1, master: { dataDir: dir } });
    cleanup.push(() => c.close());
    await c.waitForWorkers(1);
    for (let i = 0; i < 2; i++) await runTask(c.httpUrl, { kind: 'echo', input: { text: `after ${i}` } });
    const resumed = follow(c.httpUrl, { auth: { since: lastId } });
    cleanup.push(() => resumed.socket.close());
    await resumed.connected;
    const want = await stored(c, lastId);
    expect(want.length).toBeGreaterThanOrEqual(2 * 2 * 3);
    await waitFor(() => resumed.events.length >= want.length, 'the missed events');
    await new Promise((r) => setTimeout(r, 200));
    expect(resumed.events.map((e) => e.id)).toEqual(want.map((e) => e.id));
  });

  it('has its own auth chain: no key and a bad filter are refused at the handshake; a user key connects (it sees its own tasks: tenancy-scope.test.ts)', async () => {
    const c = await startCluster({ master: { apiKeys: ['user:user-key-123456', 'operator:op-key-1234567'] } });
    cleanup.push(() => c.close());
    const refused = async (opts: Parameters<typeof follow>[1]) => {
      const f = follow(c.httpUrl, opts);
      cleanup.push(() => f.socket.close());
      return f.connected.then(() => 'connected', (err: Error) => err.message);
    };
    expect(await refused({})).toMatch(/^UNAUTHENTICATED/);
    expect(await refused({ auth: { apiKey: 'user-key-123456' }, query: { status: 'nope' } })).toMatch(/^BAD_REQUEST: status/);
    expect(await refused({ auth: { apiKey: 'user-key-123456' } })).toBe('connected');
    expect(await refused({ auth: { apiKey: 'op-key-1234567' }, query: { type: 'task.nope' } })).toMatch(/^BAD_REQUEST: type/);
    expect(await refused({ auth: { apiKey: 'op-key-1234567' } })).toBe('connected');
  });
});
