/**
 * One browser that stops reading does not slow the others, and what the
 * master holds for it is bounded (master/http/chunk-relay.ts): a raw
 * Socket.IO client (engine.io over a WebSocket whose TCP socket is paused)
 * runs long streamed echo tasks; meanwhile another session's task streams to
 * its end; the stalled socket's connection queue stays short (its text is
 * merged and held instead); once it reads again it gets every answer whole,
 * in order, each before its task:done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { CHUNK_RELAY_DEFAULTS } from '../../master/http/chunk-relay.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const STALLED_TASKS = 4;
const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}${'w'.repeat(30)} `).join('');

describe('Socket.IO back-pressure', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startCluster({ workers: 1, workerCapacity: 8 });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('a stalled browser gets its chunks merged and held; another session streams meanwhile; nothing is lost', async () => {
    // The stalled client: engine.io v4 / Socket.IO v5 frames by hand.
    const ws = new WebSocket(`${c.httpUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const frames: string[] = [];
    ws.on('message', (d) => {
      const f = d.toString();
      if (f === '2') ws.send('3'); // engine.io ping
      frames.push(f);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send('40');
    await waitFor(() => frames.some((f) => f.startsWith('42["session"')), 'the stalled client session');
    const texts = Array.from({ length: STALLED_TASKS }, (_, k) => words(25_000, `t${k}-`));
    texts.forEach((text, k) => ws.send(`42${k}${JSON.stringify(['task:submit', { kind: 'echo', input: { text } }])}`));
    await waitFor(() => frames.filter((f) => /^43\d/.test(f)).length === STALLED_TASKS, 'the stalled client acks');
    const ids = new Map<string, number>();
    for (const f of frames.filter((x) => /^43\d/.test(x))) {
      const m = /^43(\d)(.*)$/.exec(f)!;
      const [ack] = JSON.parse(m[2]!) as [{ ok: boolean; data: TaskView }];
      expect(ack.ok).toBe(true);
      ids.set(ack.data.id, Number(m[1]));
    }
    // Stop reading: the kernel buffers fill, then the master's queue for this connection.
    const tcp = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause();
    const relay = c.master.sockets.chunks;
    await waitFor(() => relay.heldChars > 0, 'chunks held for the stalled browser', 60_000);

    // Another session streams its task to the end while the first one is stalled.
    const fast = io(c.httpUrl, { transports: ['websocket'], reconnection: false }) as ClientSocket;
    try {
      await new Promise<void>((resolve, reject) => {
        fast.once('session', () => resolve());
        fast.once('connect_error', reject);
      });
      const got: TaskChunkEvent[] = [];
      let done: TaskView | undefined;
      fast.on('task:chunk', (ch) => got.push(ch));
      fast.on('task:done', (t) => (done = t));
      const text = words(2000, 'fast-');
      const ack = await fast.emitWithAck('task:submit', { kind: 'echo', input: { text } });
      expect(ack.ok).toBe(true);
      await waitFor(() => done, 'the other session to finish', 60_000);
      expect(got.map((x) => x.text).join('')).toBe(text);
    } finally {
      fast.disconnect();
    }

    // What the master queues on the stalled connection stays short: the rest is held as merged text.
    const stalled = [...c.master.sockets.io.sockets.sockets.values()].find((s) => s.id !== fast.id);
    const queued = (stalled!.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
    expect(queued).toBeLessThanOrEqual(CHUNK_RELAY_DEFAULTS.backlogPackets + 4 * STALLED_TASKS);
    expect(relay.heldChars).toBeLessThanOrEqual(texts.reduce((n, t) => n + t.length, 0));

    // Reading again: every answer whole and in order, its chunks before its task:done.
    tcp.resume();
    await waitFor(() => frames.filter((f) => f.startsWith('42["task:done"')).length === STALLED_TASKS, 'the stalled tasks to arrive', 90_000);
    const text = new Map<string, string>();
    const finished = new Set<string>();
    const lastSeq = new Map<string, number>();
    for (const f of frames) {
      if (f.startsWith('42["task:chunk"')) {
        const [, ch] = JSON.parse(f.slice(2)) as [string, TaskChunkEvent];
        expect(finished.has(ch.id)).toBe(false);
        expect(ch.seq).toBeGreaterThan(lastSeq.get(ch.id) ?? 0);
        lastSeq.set(ch.id, ch.seq);
        text.set(ch.id, (text.get(ch.id) ?? '') + ch.text);
      } else if (f.startsWith('42["task:done"')) {
        const [, t] = JSON.parse(f.slice(2)) as [string, TaskView];
        expect(t.status).toBe('succeeded');
        finished.add(t.id);
      }
    }
    for (const [id, k] of ids) expect(text.get(id)).toBe(texts[k]);
    ws.close();
  }, 240_000);
});
