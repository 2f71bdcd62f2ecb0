/**
 * The suite's MQTT client with master privileges: records every message under
 * the topic root (with its retain flag and arrival time), publishes forged or
 * malformed messages, and reads retained messages with a fresh connection.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { setNoDelayOnConnect } from '../common/mqtt-socket.js';
import type { Topics } from '../common/topics.js';

export interface SpyMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  atMs: number;
  /** Position in the spy's log (for "after this point" waits). */
  index: number;
}

export interface SpyOptions {
  url: string;
  username: string;
  password: string;
  topics: Topics;
}

export class Spy {
  readonly messages: SpyMessage[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly client: MqttClient,
    private readonly o: SpyOptions,
  ) {}

  static async create(o: SpyOptions): Promise<Spy> {
    const client = await connect(o, `conformance-spy-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    const spy = new Spy(client, o);
    client.on('message', (topic, payload, packet) => {
      spy.messages.push({ topic, payload, retain: packet.retain, atMs: Date.now(), index: spy.messages.length });
      for (const w of spy.waiters) w();
    });
    await client.subscribeAsync(o.topics.everything(), { qos: 1 });
    return spy;
  }

  /** The next index: messages from here on arrived after this call. */
  mark(): number {
    return this.messages.length;
  }

  /** First message at or after `from` that satisfies `pred`, waiting up to timeoutMs. */
  async waitFor(pred: (m: SpyMessage) => boolean, timeoutMs: number, from = 0): Promise<SpyMessage | undefined> {
    const find = () => this.messages.slice(from).find(pred);
    const seen = find();
    if (seen) return seen;
    return new Promise((resolve) => {
      const check = () => {
        const m = find();
        if (m) finish(m);
      };
      const finish = (m: SpyMessage | undefined) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(m);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.waiters.add(check);
    });
  }

  since(from: number, pred: (m: SpyMessage) => boolean = () => true): SpyMessage[] {
    return this.messages.slice(from).filter(pred);
  }

  async publish(topic: string, payload: string | Buffer, opts: { qos?: 0 | 1; retain?: boolean } = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
  }

  /**
   * The retained message of `topic` as a new subscriber gets it (a fresh
   * connection), or undefined if none arrives within waitMs.
   */
  async retained(topic: string, waitMs = 1500): Promise<SpyMessage | undefined> {
    const c = await connect(this.o, `conformance-retained-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    try {
      const got = new Promise<SpyMessage | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), waitMs);
        c.on('message', (t, payload, packet) => {
          if (t !== topic) return;
          clearTimeout(timer);
          resolve({ topic: t, payload, retain: packet.retain, atMs: Date.now(), index: -1 });
        });
      });
      await c.subscribeAsync(topic, { qos: 1 });
      return await got;
    } finally {
      await c.endAsync(true).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const w of this.waiters) w();
    await this.client.endAsync(true).catch(() => undefined);
  }
}

async function connect(o: SpyOptions, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(o.url, {
    clientId,
    username: o.username,
    password: o.password,
    protocolVersion: 4,
    clean: true,
    keepalive: 10,
    reconnectPeriod: 200,
    connectTimeout: 5000,
    resubscribe: true,
  });
  setNoDelayOnConnect(client);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      client.end(true);
      reject(err);
    };
    client.once('error', onError);
    client.once('connect', () => {
      client.off('error', onError);
      resolve();
    });
  });
  client.on('error', () => undefined);
  return client;
}
