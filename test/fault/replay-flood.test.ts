/**
 * Replay to reconnecting browsers (hardening issue): many joiners of one
 * session that never read must not make the master hold the session's
 * answers once per joiner. The replay is bounded in bytes and sent one answer
 * at a time, the next only once the connection has written the previous one.
 *
 * Real master, worker, Socket.IO; the stalled joiners are raw WebSocket
 * clients speaking the engine.io / Socket.IO wire format that stop reading
 * right after they join.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import { replaySelection } from '../../master/http/session-replay.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

const ANSWERS = 24;
const TEXT_BYTES = 700 * 1024;
const JOINERS = 12;

/** Bytes the master holds for one engine.io connection: its write buffer and what the socket could not write yet. */
function queuedBytes(conn: unknown): number {
  const c = conn as { writeBuffer: { data?: unknown }[]; transport?: { socket?: { _socket?: { writableLength?: number }; bufferedAmount?: number } } };
  let n = 0;
  for (const p of c.writeBuffer) n += typeof p.data === 'string' ? p.data.length : 0;
  n += c.transport?.socket?._socket?.writableLength ?? 0;
  return n;
}

describe('session replay to many joiners that never read', () => {
  let cluster: TestCluster;
  let url: string;
  let sessionId: string;

  beforeAll(async () => {
    cluster = await startCluster({ workers: 1, workerCapacity: 8 });
    url = cluster.httpUrl;
    const s = io(url, { transports: ['websocket'] }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    sessionId = await new Promise<string>((r) => s.once('session', (info) => r(info.session_id)));
    let done = 0;
    s.on('task:done', () => done++);
    for (let i = 0; i < ANSWERS; i++) {
      const ack = await s.timeout(10_000).emitWithAck('task:submit', { kind: 'echo', input: { text: `${i}:`.padEnd(TEXT_BYTES, 'x') } });
      expect(ack.ok).toBe(true);
    }
    await waitFor(() => done >= ANSWERS, 'every answer', 30_000);
    s.close();
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('holds about one answer per stalled joiner, not the whole replay, and a reading joiner still gets the newest answers in order', async () => {
    const stalled: WebSocket[] = [];
    for (let i = 0; i < JOINERS; i++) {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('message', () => {
          ws.send(`40${JSON.stringify({ sessionId })}`); // Socket.IO CONNECT with the session's auth
          // Stop reading: the kernel buffers fill and the master's writes back up.
          (ws as unknown as { _socket: { pause(): void } })._socket.pause();
          resolve();
        });
      });
      stalled.push(ws);
    }
    const engine = (cluster.master.sockets.io.engine as unknown as { clients: Record<string, unknown> }).clients;
    await waitFor(() => Object.keys(engine).length >= JOINERS, 'every joiner connected');
    // Let the replays run into the stalled sockets.
    await new Promise((r) => setTimeout(r, 1500));
    const perJoiner = Object.values(engine).map(queuedBytes);
    const worst = Math.max(...perJoiner);
    const total = perJoiner.reduce((a, b) => a + b, 0);
    // The whole replay would be ~ANSWERS x 700 KiB (16 MiB) per joiner; back-pressure leaves about one answer.
    expect(worst).toBeLessThan(3 * TEXT_BYTES);
    expect(total).toBeLessThan(JOINERS * 3 * TEXT_BYTES);

    // A joiner that reads gets the newest answers within the byte bound, oldest first.
    const reader = io(url, { auth: { sessionId }, transports: ['websocket'] }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    const got: string[] = [];
    reader.on('task:done', (t) => got.push(String((t.result as { text?: string } | null)?.text ?? '').split(':')[0]!));
    const expected = replaySelection(cluster.master.tasks.store.bySession(sessionId, 50), { maxBytes: 16 * 1024 * 1024, maxTasks: 50 });
    expect(expected.length).toBeGreaterThan(3);
    expect(expected.length).toBeLessThan(ANSWERS); // the byte bound cut the replay
    await waitFor(() => got.length >= expected.length, `the reading joiner's ${expected.length} answers`, 20_000);
    const newest = Array.from({ length: expected.length }, (_, k) => String(ANSWERS - expected.length + k));
    expect(got).toEqual(newest);
    reader.close();
    for (const ws of stalled) ws.terminate();
  }, 60_000);
});
