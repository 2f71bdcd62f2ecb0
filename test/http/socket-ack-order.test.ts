/**
 * Ack before events: a `task:submit` ack (with its client_ref echoed) reaches
 * the submitting socket before any update, chunk or result of that task, so
 * the chat needs no parking of early events. Many tasks, real master.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

describe('Socket.IO: the ack comes before its task\'s events', () => {
  let c: TestCluster;
  let socket: ClientSocket;
  beforeAll(async () => {
    c = await startCluster({ workers: 2 });
    socket = io(c.httpUrl, { transports: ['websocket'], reconnection: false }) as ClientSocket;
    await new Promise((r) => socket.once('session', r));
  });
  afterAll(async () => {
    socket?.close();
    await c?.close();
  });

  it('for every one of 40 concurrent submits', async () => {
    const acked = new Set<string>();
    const early: string[] = [];
    const done = new Set<string>();
    const seen = (id: string) => void (acked.has(id) || early.push(id));
    socket.on('task:update', (t) => seen(t.id));
    socket.on('task:chunk', (ch) => seen(ch.id));
    socket.on('task:done', (t) => {
      seen(t.id);
      done.add(t.id);
    });
    const refs = Array.from({ length: 40 }, (_, i) => `ref-${i}`);
    const acks = await Promise.all(
      refs.map((client_ref) =>
        new Promise<{ ok: boolean; client_ref?: string; data?: { id: string } }>((resolve) =>
          socket.emit('task:submit', { kind: 'echo', input: { text: `word ${client_ref} two three` }, client_ref }, (ack) => {
            if (ack.ok) acked.add(ack.data.id);
            resolve(ack as never);
          }),
        ),
      ),
    );
    expect(acks.map((a) => a.client_ref)).toEqual(refs);
    expect(acks.filter((a) => !a.ok)).toEqual([]);
    await waitFor(() => acks.every((a) => done.has(a.data!.id)), 'all 40 results', 20_000);
    expect(early).toEqual([]);
  });

  it('a refused submit echoes client_ref too', async () => {
    const ack = await socket.timeout(5000).emitWithAck('task:submit', { kind: 'Bad Kind', input: {}, client_ref: 'bad-1' });
    expect(ack).toMatchObject({ ok: false, client_ref: 'bad-1' });
  });
});
