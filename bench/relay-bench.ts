/**
 * The chunk relay's CPU per streamed chunk (multi-master, master/cluster-relay/):
 * one process, the running master's RelaySender publishing straight into the
 * interested master's RelayReceiver (encode, JSON parse, schema check,
 * de-duplication; no MQTT hop, no database: the lookup answers from memory).
 * Rounds of 200 streamed tasks x 50 chunks, each task's session watched by
 * the other master, alternating with the same chunks for tasks no other
 * master watches (what the relay costs a master whose clients are all its
 * own). `npm run bench -- relay` (add `quick` for fewer rounds).
 */
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { TaskEvents } from '../master/core/task-events.js';
import type { TaskRecord } from '../master/core/task-record.js';
import { RelayReceiver } from '../master/cluster-relay/relay-receiver.js';
import { RelaySender } from '../master/cluster-relay/relay-sender.js';

export interface RelayBenchResult {
  tasks_per_round: number;
  chunks_per_task: number;
  rounds: number;
  /** CPU µs per chunk, both sides together, per run (alternating). */
  relayed_cpu_us_per_chunk: number[];
  unwatched_cpu_us_per_chunk: number[];
  messages_per_round: number;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

export async function runRelayBench(o: { quick?: boolean } = {}): Promise<RelayBenchResult> {
  const log: Logger = silentLogger();
  const tasks = 200;
  const per = 50;
  const rounds = o.quick ? 5 : 20;
  const runs = o.quick ? 2 : 5;
  const running = new TaskEvents(() => 0);
  const watching = new TaskEvents(() => 0);
  let delivered = 0;
  const receiver = new RelayReceiver({
    events: watching,
    store: { get: () => undefined },
    interests: { add: async () => undefined, remove: async () => undefined },
    sinks: { chunk: () => void delivered++, done: () => undefined, update: () => undefined },
    log,
  });
  const sender = new RelaySender({
    me: 'm1',
    events: running,
    lookup: async (keys) => new Map(keys.filter((k) => k.startsWith('s:')).map((k) => [k, ['m2']])),
    publish: (_target, payload) => (receiver.onMessage(payload), true),
    peek: () => undefined,
    log,
  });
  const record = (id: string) => ({ id, tenant: 'default', kind: 'echo', stream: true, sessionId: `s-${id}`, status: 'running', attempt: 1, createdAtMs: 0, assignedAtMs: null, startedAtMs: null, finishedAtMs: null, firstChunkAtMs: null, history: [] }) as unknown as TaskRecord;
  let run = 0;
  const measure = async (relayed: boolean): Promise<number> => {
    let chunks = 0;
    const before = process.cpuUsage();
    for (let r = 0; r < rounds; r++) {
      const ids = Array.from({ length: tasks }, (_, i) => `${relayed ? 'r' : 'u'}-${run}-${r}-${i}`);
      if (relayed) {
        for (const id of ids) running.publish('task.assigned', { task_id: id, kind: 'llm', attempt: 1, session_id: `s-${id}`, owner: null, worker_id: 'w' }, record(id));
        await turn();
        await turn();
      }
      for (let k = 1; k <= per; k++) {
        for (const id of ids) running.publish('task.chunk', { task_id: id, kind: 'llm', attempt: 1, session_id: `s-${id}`, owner: null, chunk_seq: k, text: ' token', data: null }, record(id));
        chunks += ids.length;
        await turn();
      }
      for (const id of ids) running.publish('task.succeeded', { task_id: id, kind: 'llm', attempt: 1, session_id: `s-${id}`, owner: null, worker_id: 'w', error: null, queue_wait_ms: 1, run_ms: 1 }, record(id));
      await turn();
    }
    run++;
    const used = process.cpuUsage(before);
    return (used.user + used.system) / chunks;
  };
  await measure(true); // warm-up
  const relayed: number[] = [];
  const unwatched: number[] = [];
  const messagesBefore = sender.stats.messages;
  for (let i = 0; i < runs; i++) {
    unwatched.push(await measure(false));
    relayed.push(await measure(true));
  }
  const messages = (sender.stats.messages - messagesBefore) / (runs * rounds);
  sender.close();
  receiver.close();
  if (delivered === 0) throw new Error('relay bench: nothing was relayed');
  const round2 = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
  return { tasks_per_round: tasks, chunks_per_task: per, rounds, relayed_cpu_us_per_chunk: round2(relayed), unwatched_cpu_us_per_chunk: round2(unwatched), messages_per_round: Math.round(messages) };
}

export function printRelayBench(r: RelayBenchResult): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n== chunk relay (${r.tasks_per_round} streamed tasks x ${r.chunks_per_task} chunks per round, ${r.rounds} rounds per run; sender + receiver in one process, no MQTT hop) ==`);
  console.log(`relayed to another master: ${r.relayed_cpu_us_per_chunk.join(', ')} CPU µs per chunk (median ${median(r.relayed_cpu_us_per_chunk)}), ${r.messages_per_round} messages per round`);
  console.log(`watched by no other master: ${r.unwatched_cpu_us_per_chunk.join(', ')} CPU µs per chunk (median ${median(r.unwatched_cpu_us_per_chunk)})`);
}
