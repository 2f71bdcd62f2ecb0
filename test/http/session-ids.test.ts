/**
 * Session ids: issued by the master (a client-picked id is replaced), bound to
 * the principal, expiring after the idle time (injected clock), and resumed
 * over a real Socket.IO connection only by the principal they were issued to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import { LOCAL_PRINCIPAL, makePrincipal, ROLE_SCOPES, type Principal } from '../../master/http/auth/principal.js';
import { SESSION_ID_PATTERN, SessionIds } from '../../master/http/auth/session-ids.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const alice: Principal = makePrincipal({ id: 'key-alice', scopes: ROLE_SCOPES.user });
const bob: Principal = makePrincipal({ id: 'key-bob', scopes: ROLE_SCOPES.user });

describe('SessionIds', () => {
  it('issues unguessable ids bound to a principal, expiring after the idle time', () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const ids = new SessionIds({ secret: 's3cret', idleMs: 60_000, clock });
    const a = ids.issue(alice);
    expect(a).toMatch(SESSION_ID_PATTERN);
    expect(ids.issue(alice)).not.toBe(a);
    expect(ids.resolve(a, alice)).toEqual({ sessionId: a, resumed: true });
    // someone else's principal, a client-picked id, a forged tag: a fresh id
    expect(ids.resolve(a, bob).resumed).toBe(false);
    expect(ids.resolve('my-own-session-id-1234', alice).resumed).toBe(false);
    expect(ids.resolve(`${a.slice(0, 22)}${'A'.repeat(16)}`, alice).resumed).toBe(false);
    // used within the idle time: still good; idle longer: gone
    now += 59_000;
    expect(ids.resolve(a, alice).resumed).toBe(true);
    now += 60_001;
    expect(ids.resolve(a, alice).resumed).toBe(false);
    // a restarted master (same secret) accepts a recent id once, as used at its start
    const b = ids.issue(alice);
    const restarted = new SessionIds({ secret: 's3cret', idleMs: 60_000, clock });
    expect(restarted.resolve(b, alice).resumed).toBe(true);
    expect(new SessionIds({ secret: 'other', idleMs: 60_000, clock }).resolve(b, alice).resumed).toBe(false);
    now += 120_000;
    expect(restarted.resolve(b, alice).resumed).toBe(false);
  });
});

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function session(url: string, auth: Record<string, unknown>): Promise<{ socket: ClientSocket; id: string }> {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false }) as ClientSocket;
  return new Promise((resolve, reject) => {
    socket.once('session', (info) => resolve({ socket, id: info.session_id }));
    socket.once('connect_error', reject);
  });
}

describe('session ids over Socket.IO (API keys configured)', () => {
  let c: TestCluster;
  const sockets: ClientSocket[] = [];
  beforeAll(async () => {
    c = await startCluster({ workers: 1, master: { apiKeys: ['user:key-of-alice-123', 'user:key-of-bob-4567'] } });
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await c?.close();
  });

  it('a client-picked id is replaced; the issued id resumes for its principal only', async () => {
    const picked = await session(c.httpUrl, { apiKey: 'key-of-alice-123', sessionId: 'chosen-by-the-client' });
    sockets.push(picked.socket);
    expect(picked.id).not.toBe('chosen-by-the-client');
    expect(picked.id).toMatch(SESSION_ID_PATTERN);
    const ack = await picked.socket.timeout(10_000).emitWithAck('task:submit', { kind: 'echo', input: { text: 'mine' } });
    expect(ack.ok).toBe(true);
    picked.socket.close();

    const again = await session(c.httpUrl, { apiKey: 'key-of-alice-123', sessionId: picked.id });
    sockets.push(again.socket);
    expect(again.id).toBe(picked.id);

    // Bob presenting Alice's session id gets a session of his own and none of her answers.
    const replayed: string[] = [];
    const socket = io(c.httpUrl, { auth: { apiKey: 'key-of-bob-4567', sessionId: picked.id }, transports: ['websocket'], reconnection: false }) as ClientSocket;
    sockets.push(socket);
    socket.on('task:done', (t) => replayed.push(t.id));
    socket.on('task:update', (t) => replayed.push(t.id));
    const bobs = await new Promise<string>((r) => socket.once('session', (i) => r(i.session_id)));
    expect(bobs).not.toBe(picked.id);
    await new Promise((r) => setTimeout(r, 200));
    expect(replayed).toEqual([]);
    // ... and cannot cancel her task.
    if (ack.ok) {
      const cancel = await socket.timeout(5000).emitWithAck('task:cancel', { id: ack.data.id });
      expect(cancel.ok).toBe(false);
    }
  });

  it('the local principal gets ids too when no keys are configured', () => {
    const ids = new SessionIds({ secret: 'x', idleMs: 1000, clock: { now: () => 0 } });
    expect(ids.resolve(undefined, LOCAL_PRINCIPAL).sessionId).toMatch(SESSION_ID_PATTERN);
  });
});
