/**
 * The suite's master, in process: embedded broker, gRPC and HTTP on
 * 127.0.0.1 (port 0 the first time), a durable store in a temporary data
 * directory, short leases, and the spy account. `restart()` closes it and
 * starts a new one on the same ports and data directory, which is a broker
 * restart as the worker sees it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../common/logger.js';
import { Topics } from '../common/topics.js';
import { Master } from '../master/master.js';
import type { MasterOptions } from '../master/config.js';
import { ResultRecorder } from './result-recorder.js';
import { Spy } from './spy.js';
import { spyPolicy } from './spy-policy.js';

export interface MasterHostOptions {
  /** Master log lines on stdout (default: silent). */
  verbose: boolean;
  /** Default heartbeat interval / lease of every task (short, so lost leases show quickly). */
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
}

export interface Rejection {
  reason: string;
  taskId: string;
  attempt: number;
  workerId: string;
  atMs: number;
}

export class MasterHost {
  readonly topics = new Topics();
  readonly clusterToken = randomBytes(18).toString('base64url');
  readonly recorder = new ResultRecorder();
  readonly rejections: Rejection[] = [];
  readonly masterId = `conformance-master-${process.pid}`;
  private readonly spyAccount = { username: 'conformance-spy', password: randomBytes(18).toString('base64url') };
  master!: Master;
  spy!: Spy;
  private ports = { mqtt: 0, grpc: 0, http: 0 };
  private closed = false;

  private constructor(
    private readonly o: MasterHostOptions,
    private readonly dataDir: string,
  ) {}

  static async create(o: MasterHostOptions): Promise<MasterHost> {
    const host = new MasterHost(o, await mkdtemp(join(tmpdir(), 'taskwire-conformance-')));
    try {
      await host.start();
    } catch (err) {
      await host.close();
      throw err;
    }
    return host;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.ports.mqtt}`;
  }

  get grpcTarget(): string {
    return `127.0.0.1:${this.ports.grpc}`;
  }

  private async start(): Promise<void> {
    const options: MasterOptions = {
      masterId: this.masterId,
      bindHost: '127.0.0.1',
      mqttPort: this.ports.mqtt,
      grpcPort: this.ports.grpc,
      httpPort: this.ports.http,
      dataDir: this.dataDir,
      clusterToken: this.clusterToken,
      heartbeatIntervalMs: this.o.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.o.heartbeatTimeoutMs,
      cancelGraceMs: 15_000,
      retryBaseMs: 100,
      retryMaxMs: 500,
      maxAttempts: 5,
      clusterStatusIntervalMs: 1000,
      logToStdout: this.o.verbose,
      logLevel: this.o.verbose ? 'info' : 'silent',
    };
    const logger = this.o.verbose ? createLogger({ source: 'master', level: 'info', destination: process.stderr }) : { logger: silentLogger() };
    this.master = await Master.create(options, {
      logger,
      brokerPolicy: spyPolicy({ topics: this.topics, clusterToken: this.clusterToken, masterId: this.masterId, spy: this.spyAccount }),
    });
    this.ports = { mqtt: Number(new URL(this.master.mqttUrl).port), grpc: this.master.grpcPort, http: this.master.httpPort };
    this.recorder.attach(this.master.intake);
    this.master.tasks.rejections.onRejected((reason, ev) =>
      this.rejections.push({ reason, taskId: ev.task_id, attempt: ev.attempt, workerId: ev.worker_id, atMs: Date.now() }),
    );
    this.spy = await Spy.create({ url: this.mqttUrl, ...this.spyAccount, topics: this.topics });
  }

  /** Stops the master (and with it the broker) and starts a new one on the same ports and data directory. */
  async restart(): Promise<void> {
    await this.spy.close();
    await this.master.close();
    await this.start();
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.spy?.close().catch(() => undefined);
    await this.master?.close().catch(() => undefined);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
