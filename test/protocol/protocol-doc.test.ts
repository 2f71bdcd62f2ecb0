/**
 * docs/PROTOCOL.md must not drift from the code: every message, field, enum
 * value and RPC of proto/taskwire/v1 and every topic builder of
 * common/topics.ts is documented; every example payload parses with the real
 * codec and is exactly what the encoder writes; the documented size limits
 * and error codes are the ones the code uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../../common/errors.js';
import { type JsonCodec, jsonCodec } from '../../common/proto-json.js';
import { PROTOCOL_VERSION, protoRoot } from '../../common/proto-root.js';
import { DEFAULT_TOPIC_ROOT, type ParsedTopic, Topics } from '../../common/topics.js';
import * as wire from '../../common/wire.js';
import { MAX_EVENTS_PER_BATCH } from '../../master/transport/result-server.js';
import { codeBlocks, mentionsCode, proseOnly, section } from './markdown-doc.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(repo, 'docs', 'PROTOCOL.md'), 'utf8');
const prose = proseOnly(doc);

type AnyCodec = JsonCodec<unknown, unknown>;

/** The MQTT codecs exported by common/wire.ts, by message type name. */
const wireCodecs = new Map<string, AnyCodec>(
  (Object.values(wire) as unknown[])
    .filter((v): v is AnyCodec => typeof v === 'object' && v !== null && 'typeName' in v && 'decode' in v)
    .map((c) => [c.typeName, c]),
);

function codecFor(typeName: string): AnyCodec {
  return wireCodecs.get(typeName) ?? jsonCodec(typeName);
}

/** The codec a payload on this topic is read with (as master-link.ts / worker.ts do). */
function topicCodec(parsed: ParsedTopic): AnyCodec {
  switch (parsed.kind) {
    case 'worker':
      return parsed.channel === 'status' ? wire.workerStatusCodec : parsed.channel === 'tasks' ? wire.assignmentsCodec : wire.controlCodec;
    case 'master-status':
      return wire.masterStatusCodec;
    case 'cluster-status':
      return wire.clusterStatusCodec;
    case 'log':
      return wire.logLineCodec;
  }
}

/** Decodes `text`; unless `lenient`, it must also be exactly what the encoder writes back. */
function checkPayload(codec: AnyCodec, text: string, lenient = false): Record<string, unknown> {
  const decoded = codec.decode(text) as Record<string, unknown>;
  if (!lenient) expect(codec.toJson(decoded), `${codec.typeName}: not the canonical proto3 JSON the encoder writes`).toEqual(JSON.parse(text));
  return decoded;
}

interface MqttExample {
  topic: string;
  payload: string;
  line: number;
}

const MQTT_LINE = new RegExp(`^(${DEFAULT_TOPIC_ROOT.replace(/\//g, '\\/')}\\/\\S+) (\\{.*\\})$`);

function mqttExamples(): MqttExample[] {
  const out: MqttExample[] = [];
  for (const block of codeBlocks(doc)) {
    block.body.split('\n').forEach((text, i) => {
      const m = MQTT_LINE.exec(text);
      if (m) out.push({ topic: m[1]!, payload: m[2]!, line: block.line + 1 + i });
    });
  }
  return out;
}

function checkMqttExample(topics: Topics, ex: MqttExample): ParsedTopic {
  const parsed = topics.parse(ex.topic);
  if (!parsed) throw new Error(`line ${ex.line}: ${ex.topic} is not a taskwire topic`);
  const msg = checkPayload(topicCodec(parsed), ex.payload);
  if (parsed.kind === 'worker' && parsed.channel === 'status') expect(msg.worker_id, `line ${ex.line}`).toBe(parsed.workerId);
  if (parsed.kind === 'log') expect(msg.source, `line ${ex.line}`).toBe(parsed.source);
  return parsed;
}

interface Declared {
  types: protobuf.Type[];
  enums: protobuf.Enum[];
  services: protobuf.Service[];
}

function declared(): Declared {
  const ns = protoRoot().lookup('taskwire.v1');
  if (!(ns instanceof protobuf.Namespace)) throw new Error('taskwire.v1 not found');
  const out: Declared = { types: [], enums: [], services: [] };
  const walk = (n: protobuf.NamespaceBase) => {
    for (const obj of n.nestedArray) {
      if (obj instanceof protobuf.Type) out.types.push(obj);
      else if (obj instanceof protobuf.Enum) out.enums.push(obj);
      else if (obj instanceof protobuf.Service) out.services.push(obj);
      if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) walk(obj);
    }
  };
  walk(ns);
  return out;
}

describe('docs/PROTOCOL.md', () => {
  it('is versioned and names the protocol string and the default topic root', () => {
    expect(doc.split('\n')[0]).toBe('# taskwire protocol v1');
    expect(mentionsCode(prose, PROTOCOL_VERSION)).toBe(true);
    expect(mentionsCode(prose, DEFAULT_TOPIC_ROOT)).toBe(true);
  });

  it('documents every message and every field of proto/taskwire/v1 in the message\'s own section', () => {
    const { types } = declared();
    expect(types.length).toBeGreaterThan(15);
    const missing: string[] = [];
    for (const type of types) {
      const body = section(doc, type.name);
      if (body === undefined) {
        missing.push(`message ${type.name} (no "#### \`${type.name}\`" section)`);
        continue;
      }
      for (const field of type.fieldsArray) if (!mentionsCode(body, field.name)) missing.push(`${type.name}.${field.name}`);
      for (const oneof of type.oneofsArray) if (!mentionsCode(body, oneof.name)) missing.push(`${type.name}.${oneof.name} (oneof)`);
    }
    expect(missing).toEqual([]);
  });

  it('documents every enum value and every RPC', () => {
    const { enums, services } = declared();
    expect(enums.length).toBeGreaterThanOrEqual(5);
    expect(services.map((s) => s.name)).toContain('ResultService');
    const missing: string[] = [];
    for (const e of enums) {
      const body = section(doc, e.name);
      if (body === undefined) missing.push(`enum ${e.name}`);
      else for (const value of Object.keys(e.values)) if (!mentionsCode(body, value)) missing.push(`${e.name}.${value}`);
    }
    for (const s of services) {
      const body = section(doc, s.name);
      if (body === undefined) missing.push(`service ${s.name}`);
      else for (const m of s.methodsArray) if (!mentionsCode(body, m.name)) missing.push(`${s.name}.${m.name}`);
    }
    expect(missing).toEqual([]);
  });

  it('documents every topic builder of common/topics.ts', () => {
    const topics = new Topics();
    const builders = Object.getOwnPropertyNames(Topics.prototype).filter(
      (name) => name !== 'constructor' && name !== 'parse' && typeof (topics as unknown as Record<string, unknown>)[name] === 'function',
    );
    expect(builders.length).toBeGreaterThanOrEqual(9);
    const missing: string[] = [];
    for (const name of builders) {
      const fn = (topics as unknown as Record<string, (arg?: string) => string>)[name]!;
      let placeholder: string | undefined;
      if (fn.length > 0) {
        if (name.startsWith('worker')) placeholder = '{worker_id}';
        else if (name === 'log') placeholder = '{source}';
        else if (name === 'masterChunks') placeholder = '{master_id}';
        else throw new Error(`topic builder ${name}() takes an argument this test does not know: document it and teach the test`);
      }
      const topic = fn.call(topics, placeholder);
      if (!mentionsCode(prose, topic)) missing.push(`${name}() -> ${topic}`);
    }
    expect(missing).toEqual([]);
  });

  it('shows an example of every MQTT payload, each parsing with its topic\'s codec in canonical form', () => {
    const topics = new Topics();
    const examples = mqttExamples();
    const seen = new Set<string>();
    for (const ex of examples) {
      const p = checkMqttExample(topics, ex);
      seen.add(p.kind === 'worker' ? `worker/${p.channel}` : p.kind);
    }
    expect([...seen].sort()).toEqual(['cluster-status', 'log', 'master-status', 'worker/control', 'worker/status', 'worker/tasks']);
  });

  it('catches an example that is not what the encoder writes (the check can fail)', () => {
    const topics = new Topics();
    const camel = { topic: 'taskwire/v1/master/status', payload: '{"masterId":"m","state":"MASTER_STATE_ONLINE"}', line: 0 };
    expect(() => checkMqttExample(topics, camel)).toThrow();
    const numericLong = { topic: 'taskwire/v1/master/status', payload: '{"master_id":"m","state":"MASTER_STATE_ONLINE","ts_ms":5}', line: 0 };
    expect(() => checkMqttExample(topics, numericLong)).toThrow();
    const wrongId = { topic: 'taskwire/v1/workers/a/status', payload: '{"worker_id":"b","state":"WORKER_STATE_ONLINE"}', line: 0 };
    expect(() => checkMqttExample(topics, wrongId)).toThrow();
  });

  it('types every JSON example, and each parses with the codec of its message type', () => {
    const blocks = codeBlocks(doc).filter((b) => b.info.split(/\s+/)[0] === 'json');
    const typed = new Set<string>();
    for (const block of blocks) {
      const [, typeName, mode, ...rest] = block.info.split(/\s+/);
      expect(typeName, `json block at line ${block.line} needs a message type: \`\`\`json taskwire.v1.X`).toMatch(/^taskwire\.v1\.[A-Z]\w*$/);
      expect(mode === undefined || mode === 'input', `line ${block.line}: unknown mode ${mode}`).toBe(true);
      expect(rest).toEqual([]);
      checkPayload(codecFor(typeName!), block.body, mode === 'input');
      typed.add(typeName!);
    }
    for (const t of ['ResultBatch', 'ResultEvent', 'TaskResult', 'SubmitResultResponse', 'StreamResultsResponse', 'FetchSecretsRequest', 'FetchSecretsResponse']) {
      expect(typed, `an example of taskwire.v1.${t}`).toContain(`taskwire.v1.${t}`);
    }
  });

  it('states the payload size limit of every MQTT codec exactly', () => {
    const limits = section(doc, '14. Limits');
    expect(limits).toBeDefined();
    const rows = new Map<string, number>();
    for (const m of limits!.matchAll(/^\| (\w+) \| (\d+) \|/gm)) rows.set(m[1]!, Number(m[2]));
    expect(wireCodecs.size).toBeGreaterThanOrEqual(6);
    for (const [typeName, codec] of wireCodecs) {
      const short = typeName.split('.').pop()!;
      const limit = rows.get(short);
      expect(limit, `a "| ${short} | <bytes> |" row in §14`).toBeDefined();
      // At the limit the codec reads the payload (and finds it is not JSON); one byte more is too large.
      expect(() => codec.decode(Buffer.alloc(limit!, 0x20))).not.toThrow(PayloadTooLargeError);
      expect(() => codec.decode(Buffer.alloc(limit! + 1, 0x20))).toThrow(PayloadTooLargeError);
    }
    expect(limits).toContain(`| ${MAX_EVENTS_PER_BATCH} (more fails`);
  });

  it('lists every error code the worker, its handlers and the master produce', () => {
    const read = (p: string) => (existsSync(join(repo, p)) ? readFileSync(join(repo, p), 'utf8') : '');
    const union = /export type TaskFailureCode =([^;]*);/.exec(read('worker/handlers/task-handler.ts'));
    expect(union, 'TaskFailureCode union in worker/handlers/task-handler.ts').not.toBeNull();
    const codes = new Set([...union![1]!.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!));
    // Every other upper-case string constant in the result path is an error code,
    // except enum value names (CONTROL_ACTION_CANCEL, TASK_OUTCOME_FAILED, ...).
    const { enums } = declared();
    const enumValues = new Set([...enums.flatMap((e) => Object.keys(e.values)), 'NULL_VALUE']);
    const resultPath = ['worker/task-runner.ts', 'master/core/task-service.ts', 'master/core/result-intake.ts'];
    expect(read(resultPath[0]!)).not.toBe('');
    for (const file of resultPath) {
      for (const m of read(file).matchAll(/'([A-Z][A-Z0-9_]{2,})'/g)) if (!enumValues.has(m[1]!)) codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(12);
    const table = section(doc, '11.1 Error codes');
    expect(table).toBeDefined();
    const missing = [...codes].filter((c) => !table!.includes(`| \`${c}\` |`));
    expect(missing).toEqual([]);
  });
});
