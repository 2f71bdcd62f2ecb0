import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { startCluster, waitFor, type TestCluster } from '../helpers/cluster.js';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function connect(url: string, sessionId?: string): Promise<{ socket: ClientSocket; session: string }> {
  const socket = io(url, { auth: sessionId ? { sessionId } : {}, transports: ['websocket'], reconnection: false }) as ClientSocket;
  return new Promise((resolve, reject) => {
    socket.once('session', (info) => resolve({ socket, session: info.session_id }));
    socket.once('connect_error', reject);
  });
}

describe('Socket.IO chat path', () => {
  let c: TestCluster;
  const sockets: ClientSocket[] = [];
  beforeAll(async () => {
    c = await startCluster({ workers: 2 });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await c?.close();
  });

  it('streams chunks and the final result with metadata to the submitting session only', async () => {
    const a = await connect(c.httpUrl);
    const other = await connect(c.httpUrl);
    sockets.push(a.socket, other.socket);
    expect(a.session).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    const chunks: TaskChunkEvent[] = [];
    const updates: string[] = [];
    let done: TaskView | undefined;
    let leaked = 0;
    other.socket.on('task:chunk', () => leaked++);
    other.socket.on('task:done', () => leaked++);
    a.socket.on('task:chunk', (ch) => chunks.push(ch));
    a.socket.on('task:update', (t) => updates.push(t.status));
    a.socket.on('task:done', (t) => (done = t));
    const text = 'the quick brown fox jumps over the lazy dog';
    const ack = await a.socket.emitWithAck('task:submit', { kind: 'echo', input: { text, delay_ms: 5 } });
    expect(ack.ok).toBe(true);
    await waitFor(() => done, 'task:done');
    expect(done!.status).toBe('succeeded');
    expect(done!.worker_language).toBe('typescript');
    expect(done!.worker_id).toBeTruthy();
    expect(done!.timings.processing_ms).toBeGreaterThanOrEqual(0);
    expect(chunks.length).toBe(text.split(' ').length);
    expect(chunks.map((x) => x.seq)).toEqual([...chunks.map((x) => x.seq)].sort((x, y) => x - y));
    expect(chunks.map((x) => x.text).join('')).toBe(text);
    expect(updates).toContain('running');
    expect(leaked).toBe(0);
  });

  it('a reconnecting browser keeps its session id', async () => {
    const first = await connect(c.httpUrl);
    first.socket.disconnect();
    const again = await connect(c.httpUrl, first.session);
    sockets.push(again.socket);
    expect(again.session).toBe(first.session);
  });

  it('rejects malformed submits with a reason and keeps the connection', async () => {
    const s = await connect(c.httpUrl);
    sockets.push(s.socket);
    const bad = await s.socket.emitWithAck('task:submit', { kind: 'echo', input: { words: 1 } } as never);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toMatch(/input/);
    const bad2 = await s.socket.emitWithAck('task:submit', 'garbage' as never);
    expect(bad2.ok).toBe(false);
    s.socket.emit('task:submit', { kind: 'echo', input: { text: 'no ack' } } as never, undefined as never);
    const good = await s.socket.emitWithAck('task:submit', { kind: 'echo', input: { text: 'ok' } });
    expect(good.ok).toBe(true);
    expect(s.socket.connected).toBe(true);
  });

  it('stops a running task from the chat', async () => {
    const s = await connect(c.httpUrl);
    sockets.push(s.socket);
    let done: TaskView | undefined;
    s.socket.on('task:done', (t) => (done = t));
    const ack = await s.socket.emitWithAck('task:submit', { kind: 'sleep', input: { ms: 30_000 } });
    if (!ack.ok) throw new Error(ack.error.message);
    await waitFor(() => c.master.tasks.get(ack.data.id)?.status === 'running', 'running');
    const cancel = await s.socket.emitWithAck('task:cancel', { id: ack.data.id });
    expect(cancel.ok).toBe(true);
    await waitFor(() => done, 'task:done after cancel');
    expect(done!.status).toBe('cancelled');
    // another session may not cancel it
    const intruder = await connect(c.httpUrl);
    sockets.push(intruder.socket);
    const refused = await intruder.socket.emitWithAck('task:cancel', { id: ack.data.id });
    expect(refused.ok).toBe(false);
  });
});
