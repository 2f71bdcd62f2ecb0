import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { Master } from '../../master/master.js';
import { Worker } from '../../worker/worker.js';
import { silentLogger } from '../../common/logger.js';
import { uniqueId, waitFor, waitForTask } from '../helpers/cluster.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';

const log = { logger: silentLogger() };

describe('durable master (SQLite store)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function master(dataDir: string, mqttPort = 0): Promise<Master> {
    const m = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, mqttPort, logToStdout: false, masterId: uniqueId('m'), dataDir, heartbeatTimeoutMs: 1500, heartbeatIntervalMs: 300, retryBaseMs: 50 },
      { logger: log },
    );
    cleanup.push(() => m.close());
    return m;
  }

  it('restores queued tasks after a restart and runs them; results and idempotency keys survive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-durable-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const a = await master(dir);
    const url = `http://127.0.0.1:${a.httpPort}/api/v1/tasks`;
    const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(((await (await post({ kind: 'echo', input: { text: `kept ${i}` }, idempotency_key: `k${i}` })).json()) as TaskView).id);
    await a.close(); // no worker ever ran them
    const b = await master(dir);
    expect(b.tasks.queue.size).toBe(20);
    const w = await Worker.create({ workerId: uniqueId('w'), mqttUrl: b.mqttUrl, mqttPassword: b.clusterToken, logToStdout: false, healthFile: join(dir, 'w.health') }, { logger: log });
    cleanup.push(() => w.close(0));
    const httpB = `http://127.0.0.1:${b.httpPort}`;
    const done = await Promise.all(ids.map((id) => waitForTask(httpB, id)));
    done.forEach((t, i) => expect(t.result).toEqual({ text: `kept ${i}` }));
    await b.close();
    const c = await master(dir);
    const again = (await (await fetch(`http://127.0.0.1:${c.httpPort}/api/v1/tasks/${ids[3]}`)).json()) as TaskView;
    expect(again.status).toBe('succeeded');
    expect(again.result).toEqual({ text: 'kept 3' });
    const dup = await fetch(`http://127.0.0.1:${c.httpPort}/api/v1/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'echo', input: { text: 'other' }, idempotency_key: 'k3' }) });
    expect(dup.status).toBe(200);
    expect(((await dup.json()) as TaskView).id).toBe(ids[3]);
  });

  it('an in-flight task finishes after a master restart: its worker delivers the result (same token key)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-durable-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const a = await master(dir);
    const mqttPort = a.broker!.port;
    const w = await Worker.create({ workerId: uniqueId('w'), mqttUrl: a.mqttUrl, mqttPassword: a.clusterToken, logToStdout: false, healthFile: join(dir, 'w.health') }, { logger: log });
    cleanup.push(() => w.close(0));
    const { task } = a.tasks.admit({ kind: 'sleep', input: { ms: 1500 } });
    await waitFor(() => a.tasks.get(task.id)?.status === 'running', 'running');
    const grpcPort = a.grpcPort;
    await a.close();
    // Same broker and gRPC ports: the worker reconnects to the new master by itself.
    const b = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort, mqttPort, logToStdout: false, masterId: uniqueId('m'), dataDir: dir, heartbeatTimeoutMs: 5000, heartbeatIntervalMs: 300 },
      { logger: log },
    );
    cleanup.push(() => b.close());
    const done = await waitForTask(`http://127.0.0.1:${b.httpPort}`, task.id, 20_000);
    expect(done.status).toBe('succeeded');
    expect(done.attempt).toBe(1); // not re-run: the original attempt's result was accepted
  });

  it('a browser reconnecting with its session id gets the answers finished while it was away', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taskwire-durable-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const m = await master(dir);
    const w = await Worker.create({ workerId: uniqueId('w'), mqttUrl: m.mqttUrl, mqttPassword: m.clusterToken, logToStdout: false, healthFile: join(dir, 'w.health') }, { logger: log });
    cleanup.push(() => w.close(0));
    const url = `http://127.0.0.1:${m.httpPort}`;
    const sessionId = `sess-${Date.now()}`;
    const s1 = io(url, { auth: { sessionId }, transports: ['websocket'] }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    cleanup.push(() => void s1.disconnect());
    const issued = await new Promise<string>((r) => s1.once('session', (info) => r(info.session_id)));
    const ack = await s1.emitWithAck('task:submit', { kind: 'sleep', input: { ms: 300 } });
    if (!ack.ok) throw new Error(ack.error.message);
    s1.disconnect(); // the user closes the tab
    await waitForTask(url, ack.data.id);
    const s2 = io(url, { auth: { sessionId: issued }, transports: ['websocket'] }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    cleanup.push(() => void s2.disconnect());
    const got = await new Promise<TaskView>((resolve) => s2.on('task:done', (t) => t.id === ack.data.id && resolve(t)));
    expect(got.status).toBe('succeeded');
  });
});
