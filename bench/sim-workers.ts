/**
 * Many lightweight workers in one process, for the scale benchmark
 * (scale-bench.ts). Each one follows docs/PROTOCOL.md as a real worker does:
 * its own MQTT 3.1.1 connection (client id = worker id, clean session, Last
 * Will OFFLINE), subscribes to its tasks / control / master status and waits
 * for the SUBACK, then publishes its retained ONLINE WorkerStatus (§6.1). An
 * assignment is answered with one final result (no STARTED: the final carries
 * started_at_ms) echoing `input.text`. Results of all simulated workers share
 * one gRPC channel and the worker's own ResultReporter (events name their
 * worker_id, so one StreamResults stream may carry many workers' results).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../common/logger.js';
import { toValue } from '../common/json-value.js';
import { Topics } from '../common/topics.js';
import { assignmentsCodec, workerStatusCodec, type WorkerStatus } from '../common/wire.js';
import { ResultReporter } from '../worker/result-reporter.js';

export interface SimWorkersOptions {
  mqttUrl: string;
  /** ResultService host:port. */
  grpcTarget: string;
  clusterToken?: string | undefined;
  count: number;
  capacity: number;
  idPrefix: string;
  /** Kinds to claim (default echo). */
  kinds?: string[];
}

interface SimWorker {
  id: string;
  client: MqttClient;
  status: WorkerStatus;
}

export class SimWorkers {
  private readonly workers: SimWorker[] = [];
  readonly reporter = new ResultReporter({ log: silentLogger() });
  private readonly topics = new Topics();
  /** Finals sent so far. */
  finals = 0;
  private closing = false;

  private constructor(private readonly o: SimWorkersOptions) {
    this.reporter.setTarget(o.grpcTarget);
  }

  /** Connects all workers at once; resolves when every one has published ONLINE (SUBACK then PUBACK). */
  static async start(o: SimWorkersOptions): Promise<SimWorkers> {
    const sim = new SimWorkers(o);
    await Promise.all(Array.from({ length: o.count }, (_, i) => sim.startOne(`${o.idPrefix}-${i}`)));
    return sim;
  }

  private status(id: string, state: WorkerStatus['state'], reason = ''): WorkerStatus {
    return {
      worker_id: id,
      state,
      kinds: [...(this.o.kinds ?? ['echo'])].sort(),
      capacity: this.o.capacity,
      language: 'typescript',
      version: 'sim',
      protocol: 'taskwire.v1',
      hostname: 'sim',
      started_at_ms: Date.now(),
      ts_ms: Date.now(),
      reason,
    };
  }

  private startOne(id: string): Promise<void> {
    const t = this.topics;
    const client = mqtt.connect(this.o.mqttUrl, {
      clientId: id,
      username: id,
      ...(this.o.clusterToken !== undefined && { password: this.o.clusterToken }),
      protocolVersion: 4,
      clean: true,
      // Longer than a worker's 10 s: one process simulating many must not lose them all to a busy moment.
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      will: { topic: t.workerStatus(id), payload: workerStatusCodec.encode(this.status(id, 'WORKER_STATE_OFFLINE', 'connection lost')), qos: 1, retain: true },
    });
    const w: SimWorker = { id, client, status: this.status(id, 'WORKER_STATE_ONLINE') };
    this.workers.push(w);
    const tasksTopic = t.workerTasks(id);
    client.on('message', (topic, payload) => {
      if (topic === tasksTopic) this.onAssignments(w, payload);
    });
    client.on('error', (err) => process.stderr.write(`sim worker ${id}: ${err.message}\n`));
    client.on('close', () => {
      if (!this.closing) process.stderr.write(`sim worker ${id}: MQTT connection closed\n`);
    });
    return new Promise<void>((resolve, reject) => {
      client.once('error', reject);
      client.once('connect', () => {
        client
          .subscribeAsync([t.workerTasks(id), t.workerControl(id), t.masterStatus()], { qos: 1 })
          .then(() => client.publishAsync(t.workerStatus(id), workerStatusCodec.encode(w.status), { qos: 1, retain: true }))
          .then(() => resolve(), reject);
      });
    });
  }

  private onAssignments(w: SimWorker, payload: Buffer): void {
    let decoded;
    try {
      decoded = assignmentsCodec.decode(payload);
    } catch {
      return; // an invalid message is dropped (§7.1)
    }
    const now = Date.now();
    for (const a of decoded.tasks) {
      const text = (a.input as { text?: unknown } | null)?.text;
      this.reporter.send({
        task_id: a.task_id,
        attempt: a.attempt,
        worker_id: w.id,
        result_token: a.result_token,
        event: 'final',
        final: {
          task_id: a.task_id,
          attempt: a.attempt,
          worker_id: w.id,
          result_token: a.result_token,
          outcome: 'TASK_OUTCOME_SUCCEEDED',
          output: toValue({ text: typeof text === 'string' ? text : '' }),
          started_at_ms: now,
          finished_at_ms: now,
        },
      });
      this.finals++;
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Publishes OFFLINE for every worker (as a worker does on a clean stop) and disconnects. */
  async close(): Promise<void> {
    this.closing = true;
    await this.reporter.close(2000);
    await Promise.all(
      this.workers.map(async (w) => {
        try {
          await w.client.publishAsync(this.topics.workerStatus(w.id), workerStatusCodec.encode(this.status(w.id, 'WORKER_STATE_OFFLINE', 'shutdown')), { qos: 1, retain: true });
        } catch {
          /* already gone */
        }
        await w.client.endAsync(true).catch(() => undefined);
      }),
    );
  }
}

/**
 * As a child process (scale-bench.ts): `node sim-workers.js` with SIM_* in the
 * environment; once loaded prints `loaded` and waits for `go` on stdin (the
 * registration figure starts there, not with Node's start-up), then prints
 * `ready <ms>` once all are online; exits on SIGTERM or when stdin closes.
 */
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const env = process.env;
  process.stdout.write('loaded\n');
  await new Promise<void>((resolve) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      if (!buf.includes('go\n')) return;
      process.stdin.off('data', onData);
      resolve();
    };
    process.stdin.on('data', onData);
  });
  const t0 = performance.now();
  const sim = await SimWorkers.start({
    mqttUrl: env['SIM_MQTT_URL']!,
    grpcTarget: env['SIM_GRPC_TARGET']!,
    clusterToken: env['SIM_CLUSTER_TOKEN'] || undefined,
    count: Number(env['SIM_COUNT']),
    capacity: Number(env['SIM_CAPACITY']),
    idPrefix: env['SIM_ID_PREFIX'] ?? `sim-${process.pid}`,
  });
  process.stdout.write(`ready ${(performance.now() - t0).toFixed(1)}\n`);
  const stop = () => void sim.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}
