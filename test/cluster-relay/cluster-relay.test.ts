/**
 * Streamed chunks across masters (multi-master, master/cluster-relay/): two
 * masters on one real PostgreSQL and one real Mosquitto, the only worker in
 * one master's share (a real worker process):
 * (1) a Socket.IO session on the master without workers submits a streamed
 *     `echo` task; the other master claims and runs it; the session gets
 *     every chunk in order and `task:done`, through the relay;
 * (2) a task that master runs for a session of its own: the live-output SSE
 *     opened mid-stream on the other master gets what came so far, the rest,
 *     and `done`;
 * (3) a streamed OpenAI-compatible call (`stream: true`) on the master without
 *     workers, answered by the worker's llm handler against a local
 *     OpenAI-compatible provider on the other master: every token as SSE;
 * (4) a browser session whose socket leaves the running master mid-stream
 *     and comes back (same session id) on the other one: there it gets the
 *     task's `task:update` view and every chunk of the attempt so far, then
 *     the rest and one `task:done`.
 */
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents, TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { silentLogger } from '../../common/logger.js';
import { Master } from '../../master/master.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Postgres, postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { assertCliBuilt } from '../helpers/processes.js';
import { faultFixture, FAST_LEASES, spawnWorker, startMasterProcess, until, workerReady } from '../fault/fault-cluster.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';

const available = postgresAvailable() && mosquittoAvailable();
const LEASE_MS = 3000;

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const query = queryRows;

/** A browser-like session: every chunk and task:done by task id, in arrival order. */
class Chat {
  readonly socket: ChatSocket;
  readonly chunks = new Map<string, TaskChunkEvent[]>();
  readonly done = new Map<string, TaskView[]>();
  readonly updates = new Map<string, TaskView[]>();
  sessionId: string | undefined;
  constructor(httpUrl: string, sessionId?: string) {
    this.socket = io(httpUrl, { transports: ['websocket'], reconnection: false, ...(sessionId ? { auth: { sessionId } } : {}) }) as ChatSocket;
    this.socket.on('session', (s) => (this.sessionId = s.session_id));
    this.socket.on('task:update', (t) => this.updates.set(t.id, [...(this.updates.get(t.id) ?? []), t]));
    this.socket.on('task:chunk', (c) => {
      const list = this.chunks.get(c.id) ?? [];
      list.push(c);
      this.chunks.set(c.id, list);
    });
    this.socket.on('task:done', (t) => this.done.set(t.id, [...(this.done.get(t.id) ?? []), t]));
  }
  async ready(): Promise<void> {
    await until(() => this.socket.connected && this.sessionId !== undefined, 'socket.io connect', 15_000, 20);
  }
  async submit(input: unknown): Promise<TaskView> {
    const ack = await this.socket.timeout(15_000).emitWithAck('task:submit', { kind: 'echo', input: input as never });
    if (!ack.ok) throw new Error(`${ack.error.code}: ${ack.error.message}`);
    return ack.data;
  }
  close(): void {
    this.socket.disconnect();
  }
}

/** GET /api/v1/tasks/:id/output as parsed SSE events, until `done` (or the time runs out). */
async function readOutput(url: string, timeoutMs: number): Promise<{ event: string; data: { attempt?: number; seq?: number; text?: string; status?: string } }[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  expect(res.status).toBe(200);
  const out: { event: string; data: { text?: string; status?: string } }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) out.push({ event, data: JSON.parse(data) });
    }
    if (out.some((e) => e.event === 'done')) {
      await reader.cancel();
      break;
    }
  }
  return out;
}

describe.skipIf(!available)(`chunk relay across masters${available ? '' : ` (skipped: ${postgresMissingReason()} or no mosquitto)`}`, () => {
  let server: Postgres;
  let broker: Mosquitto;
  beforeAll(async () => {
    [server, broker] = await Promise.all([Postgres.start(), Mosquitto.start()]);
  }, 60_000);
  afterAll(async () => undefined);
  const { group, tmp } = faultFixture('taskwire-cluster-relay-', { after: async () => void (await Promise.all([server?.close(), broker?.close()])) });

  it('a session on the master without workers gets every chunk and task:done of a task the other master runs; the live output SSE and a streamed gateway call there too', async () => {
    assertCliBuilt();
    const url = await server.createDatabase();
    const root = 'rl1/v1';
    // Shares go by sorted master id: the one worker is rl-a's; the in-process rl-b has none.
    const runner = await startMasterProcess(group, {
      name: 'rl-a',
      dataDir: join(tmp.dir, 'rl-a'),
      mqttUrl: broker.url,
      startTimeoutMs: 60_000,
      env: { ...FAST_LEASES, TASKWIRE_STORE: url, TASKWIRE_MASTERS: 'multi', TASKWIRE_MASTER_ID: 'rl-a', TASKWIRE_MASTER_LEASE_MS: String(LEASE_MS), TASKWIRE_TOPIC_ROOT: root },
    });
    const lost: Error[] = [];
    const idle = await Master.create(
      { bindHost: '127.0.0.1', httpPort: 0, grpcPort: 0, logToStdout: false, masterId: 'rl-b', store: url, masters: 'multi', mqttUrl: broker.url, topicRoot: root, masterLeaseMs: LEASE_MS },
      { logger: { logger: silentLogger() }, onClusterLost: (err) => void lost.push(err) },
    );
    const chats: Chat[] = [];
    let provider: FakeOpenAiProvider | undefined;
    try {
      provider = await startFakeOpenAiProvider({ tokenDelayMs: 40 });
      // One worker for every kind here, so that it is rl-a's share (shares go by sorted ids).
      const worker = spawnWorker(group, {
        id: 'rlw-0',
        mqttUrl: broker.url,
        capacity: 2,
        dir: tmp.dir,
        env: { TASKWIRE_TOPIC_ROOT: root, TASKWIRE_WORKER_KINDS: 'echo,sleep,llm', OPENAI_BASE_URL: provider.url, TASKWIRE_OLLAMA_URL: 'off' },
      });
      await workerReady(worker, 60_000);
      const idleUrl = `http://127.0.0.1:${idle.httpPort}`;
      await until(() => idle.cluster?.shares?.liveMasters.length === 2, 'rl-b sees both masters', 30_000);
      await until(() => idle.registry.get('rlw-0') !== undefined, 'rl-b sees the worker', 30_000);
      expect(idle.relay, 'multi-master builds the relay').toBeDefined();

      // (1) Submitted through rl-b's Socket.IO session, run by rl-a.
      const chat = new Chat(idleUrl);
      chats.push(chat);
      await chat.ready();
      // The session's interest row is written when its first socket connects (a browser opens its session before it sends).
      await until(async () => (await query(url, `SELECT 1 FROM taskwire_watch WHERE master_id = 'rl-b' AND key LIKE 's:%'`)).length === 1, 'the session interest row of rl-b', 10_000, 20);
      const words = Array.from({ length: 16 }, (_, i) => `w${i}`);
      const text = words.join(' ');
      const task = await chat.submit({ text, delay_ms: 60 });
      await until(() => chat.done.has(task.id), 'task:done on rl-b', 60_000, 20);
      const done = chat.done.get(task.id)!;
      expect(done.length, 'one task:done').toBe(1);
      expect(done[0]!.status).toBe('succeeded');
      expect(JSON.stringify(done[0]!.result)).toContain(text);
      const owner = await query<{ owner: string }>(url, `SELECT owner FROM tasks WHERE id = $1`, [task.id]);
      expect(owner[0]?.owner, 'the other master ran it').toBe('rl-a');
      const chunks = chat.chunks.get(task.id) ?? [];
      // Every chunk, in order, before task:done: their text is the whole output, seqs increase.
      expect(chunks.map((c) => c.text).join('')).toBe(text);
      for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.seq).toBeGreaterThan(chunks[i - 1]!.seq);
      expect(new Set(chunks.map((c) => c.attempt)).size).toBe(1);
      expect(idle.relay!.receiver.stats.chunks).toBeGreaterThan(0);
      expect(idle.relay!.receiver.stats.done).toBeGreaterThan(0);

      // (2) A task rl-a runs for a session of its own; its live output followed on rl-b from mid-stream.
      const local = new Chat(runner.httpUrl);
      chats.push(local);
      await local.ready();
      const long = Array.from({ length: 20 }, (_, i) => `x${i}`).join(' ');
      const t2 = await local.submit({ text: long, delay_ms: 150 });
      await until(() => (local.chunks.get(t2.id)?.length ?? 0) >= 2, 'the first chunks on rl-a', 60_000, 10);
      const events = await readOutput(`${idleUrl}/api/v1/tasks/${t2.id}/output`, 60_000);
      const last = events.at(-1);
      expect(last?.event, JSON.stringify(events)).toBe('done');
      expect(last?.data.status).toBe('succeeded');
      const streamed = events.filter((e) => e.event === 'snapshot' || e.event === 'chunk').map((e) => e.data.text ?? '').join('');
      expect(streamed, JSON.stringify(events)).toBe(long);
      expect(events.filter((e) => e.event === 'chunk').length, 'chunks arrived live, not only at the end').toBeGreaterThan(1);
      // rl-b had none of it: its first chunk is the text so far from rl-a (two chunks or more), merged.
      expect(events.find((e) => e.event === 'chunk')?.data.text ?? '').toMatch(/^x0 x1 /);
      const owner2 = await query<{ owner: string }>(url, `SELECT owner FROM tasks WHERE id = $1`, [t2.id]);
      expect(owner2[0]?.owner).toBe('rl-a');
      // The interest rows go with their watchers.
      await until(async () => (await query(url, `SELECT 1 FROM taskwire_watch WHERE key = $1`, [`t:${t2.id}`])).length === 0, 'the live-output interest row removed', 10_000, 50);

      // (3) A streamed gateway call on rl-b; rl-a's worker answers it.
      const prompt = Array.from({ length: 12 }, (_, i) => `tok${i}`).join(' ');
      const res = await fetch(`${idleUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fake-model', stream: true, messages: [{ role: 'user', content: prompt }] }),
        signal: AbortSignal.timeout(60_000),
      });
      const body = await res.text();
      expect(res.status, body).toBe(200);
      const datas = body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice('data: '.length));
      expect(datas.at(-1)).toBe('[DONE]');
      const pieces = datas.slice(0, -1).map((d) => JSON.parse(d) as { id: string; choices: { delta?: { content?: string } }[] });
      const content = pieces.map((p) => p.choices[0]?.delta?.content ?? '').filter((c) => c !== '');
      expect(content.join(''), body).toBe(prompt);
      expect(content.length, 'the tokens came as they were made').toBeGreaterThan(1);
      const gatewayTask = pieces[0]!.id.slice('chatcmpl-'.length);
      const owner3 = await query<{ owner: string }>(url, `SELECT owner FROM tasks WHERE id = $1`, [gatewayTask]);
      expect(owner3[0]?.owner, 'the other master ran the call').toBe('rl-a');

      // (4) A session's socket leaves rl-a mid-stream and comes back on rl-b (a browser that reconnected elsewhere).
      const away = new Chat(runner.httpUrl);
      chats.push(away);
      await away.ready();
      const story = Array.from({ length: 24 }, (_, i) => `s${i}`).join(' ');
      const t4 = await away.submit({ text: story, delay_ms: 120 });
      await until(() => (away.chunks.get(t4.id)?.length ?? 0) >= 3, 'the first chunks on rl-a', 60_000, 10);
      away.close();
      const back = new Chat(idleUrl, away.sessionId);
      chats.push(back);
      await back.ready();
      expect(back.sessionId, 'the same session').toBe(away.sessionId);
      await until(() => back.done.has(t4.id), 'task:done on rl-b after the move', 60_000, 20);
      expect(back.done.get(t4.id)!.length, 'one task:done').toBe(1);
      expect(back.done.get(t4.id)![0]!.status).toBe('succeeded');
      expect(back.updates.get(t4.id)?.some((u) => u.status === 'running'), 'the view it missed (running) came first').toBe(true);
      // What a browser shows: chunks by seq, each once (answer-view.ts drops what it has).
      const shown = new Map<number, string>();
      for (const c of [...(away.chunks.get(t4.id) ?? []), ...(back.chunks.get(t4.id) ?? [])]) if (!shown.has(c.seq)) shown.set(c.seq, c.text);
      const text4 = [...shown.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]).join('');
      expect(text4, 'the whole answer, nothing missing while away').toBe(story);
      // rl-b got the chunks rl-a streamed before the move, not only the ones after.
      const firstBack = Math.min(...(back.chunks.get(t4.id) ?? []).map((c) => c.seq));
      expect(firstBack, 'the chunks so far were sent on').toBeLessThanOrEqual(Math.min(...(away.chunks.get(t4.id) ?? []).map((c) => c.seq)));
      expect(lost).toEqual([]);
    } finally {
      for (const c of chats) c.close();
      await idle.close();
      await provider?.close();
    }
    // A clean stop removes the master's interest rows.
    expect(await query(url, `SELECT 1 FROM taskwire_watch WHERE master_id = 'rl-b'`)).toEqual([]);
  }, 180_000);
});
