/**
 * Streamed chunks across masters (multi-master, docs/MULTI_MASTER.md): a
 * task submitted through one master may run on another, which gets its
 * worker's chunks and final over gRPC. The relay brings them to whichever
 * master holds the interested clients (a browser session's sockets, a
 * live-output follower, a streamed gateway call):
 *
 * - interest table (watch-table.ts): `taskwire_watch`, key -> master, leased;
 * - the running master (relay-sender.ts) publishes each watched task's
 *   chunks and end on `{root}/masters/{target}/chunks` (QoS 1, batched per
 *   turn), only to masters with a row for the task or its session, and a
 *   browser session's `task:update` views (a session that comes to another
 *   master mid-stream gets the last view and the chunks so far first);
 * - the interested master (relay-receiver.ts) hands them to its Socket.IO
 *   gateway, live output and watchers; a lost end is read from the store
 *   when its durable final event arrives through the shared event outbox.
 *
 * Built only in multi-master mode; a single master runs none of it.
 */
import type { Logger } from '../../common/logger.js';
import type { Topics } from '../../common/topics.js';
import type { TaskEvents } from '../core/task-events.js';
import type { TaskRecord } from '../core/task-record.js';
import type { Follower } from '../events/event-log.js';
import { FINAL_EVENT_TYPES } from '../core/task-events.js';
import type { TaskChunkEvent } from '../../common/socket-events.js';
import type { TaskView } from '../../common/task-view.js';
import { taskView } from '../core/task-record.js';
import { RelayReceiver, type RelaySinks } from './relay-receiver.js';
import { RelaySender } from './relay-sender.js';
import { WatchTable } from './watch-table.js';

/** The Socket.IO gateway (http/socket-gateway.ts), the live output (live-output/) and the gateway's task watchers (core/task-watchers.ts). */
export interface RelaySurfaces {
  sockets: {
    watchSessions(watch: (sessionId: string, on: boolean) => void): void;
    sendChunk(sessionId: string, chunk: TaskChunkEvent): void;
    sendDone(sessionId: string, view: TaskView): void;
    sendUpdate(sessionId: string, view: TaskView): void;
  };
  output: {
    useInterest(interest: (id: string, on: boolean) => void): void;
    peek(id: string): { attempt: number; seq: number; text: string } | undefined;
    chunk(id: string, attempt: number, seq: number, text: string): void;
    finished(t: TaskRecord): void;
  };
  watchers: {
    useInterest(interest: (id: string, on: boolean) => void): void;
    chunk(c: TaskChunkEvent): void;
    finished(t: TaskRecord): void;
  };
  /** Whether a task's output is streamed (the gateway's watchers of unstreamed calls need no relay: their finals come by NOTIFY). */
  streamed(id: string): boolean;
}

/** Relayed output to every surface of this master. */
function surfaceSinks(s: RelaySurfaces): RelaySinks {
  return {
    chunk: (c) => {
      const chunk: TaskChunkEvent = { id: c.task_id, attempt: c.attempt, seq: c.seq, text: c.text, data: c.data };
      if (c.session_id !== null) s.sockets.sendChunk(c.session_id, chunk);
      s.output.chunk(c.task_id, c.attempt, c.seq, c.text);
      s.watchers.chunk(chunk);
    },
    update: (sessionId, view) => s.sockets.sendUpdate(sessionId, view),
    done: (t) => {
      if (t.sessionId !== null) s.sockets.sendDone(t.sessionId, taskView(t));
      s.output.finished(t);
      s.watchers.finished(t);
    },
  };
}

export interface ClusterRelayOptions {
  url: string;
  masterId: string;
  topics: Topics;
  /** The master's MQTT client (transport/master-link.ts). */
  link: {
    listenRelay(topic: string, onMessage: (payload: Buffer) => void): Promise<void>;
    publishRelay(topic: string, payload: Buffer): boolean;
  };
  events: TaskEvents;
  store: { preload?(q: { id: string }): Promise<void>; get(id: string): TaskRecord | undefined };
  /** The durable event stream (every master's, from the shared outbox). */
  eventLog: { follow(f: Follower): () => void };
  /** Where this master's clients are: what they watch is written to the interest table, what is relayed is handed to them. */
  surfaces: RelaySurfaces;
  liveMasters?: () => readonly string[] | undefined;
  log: Logger;
  /** Interest row lease (default 10 min). */
  ttlMs?: number;
  graceMs?: number;
}

export class ClusterRelay {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unfollow: () => void;
  private closed = false;

  private constructor(
    private readonly table: WatchTable,
    readonly sender: RelaySender,
    readonly receiver: RelayReceiver,
    eventLog: ClusterRelayOptions['eventLog'],
  ) {
    this.unfollow = eventLog.follow({ filter: { types: new Set(FINAL_EVENT_TYPES) }, deliver: (batch) => receiver.onDurable(batch) });
  }

  static async create(o: ClusterRelayOptions): Promise<ClusterRelay> {
    const table = await WatchTable.open({ url: o.url, masterId: o.masterId, ttlMs: o.ttlMs });
    const sender = new RelaySender({
      me: o.masterId,
      events: o.events,
      lookup: (keys) => table.lookup(keys),
      publish: (target, payload) => o.link.publishRelay(o.topics.masterChunks(target), payload),
      peek: (id) => o.surfaces.output.peek(id),
      liveMasters: o.liveMasters,
      log: o.log,
    });
    const receiver = new RelayReceiver({ events: o.events, store: o.store, interests: table, sinks: surfaceSinks(o.surfaces), log: o.log, graceMs: o.graceMs });
    const relay = new ClusterRelay(table, sender, receiver, o.eventLog);
    try {
      await table.listen((key, master) => sender.interest(key, master));
      await o.link.listenRelay(o.topics.masterChunks(o.masterId), (payload) => receiver.onMessage(payload));
    } catch (err) {
      await relay.close();
      throw err;
    }
    const { sockets, output, watchers, streamed } = o.surfaces;
    sockets.watchSessions((id, on) => receiver.watchSession(id, on));
    output.useInterest((id, on) => receiver.watchTask(id, on));
    watchers.useInterest((id, on) => streamed(id) && receiver.watchTask(id, on));
    const renew = setInterval(() => void receiver.renew().catch(() => undefined), Math.max(1000, Math.floor(table.ttlMs / 3)));
    // A lost listener comes back; rows of masters that died without cleaning up go after their lease.
    let ticks = 0;
    const upkeep = setInterval(() => {
      void table.relisten().catch(() => undefined);
      if (++ticks % 12 === 0) void table.prune().catch(() => undefined);
    }, 5000);
    for (const t of [renew, upkeep]) {
      t.unref();
      relay.timers.push(t);
    }
    return relay;
  }

  get stats() {
    return { ...this.sender.stats, received: this.receiver.stats, listening: this.table.listening };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.unfollow();
    this.sender.close();
    this.receiver.close();
    await this.table.close();
  }
}
