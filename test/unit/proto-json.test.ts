import { describe, expect, it } from 'vitest';
import { assignmentsCodec, controlCodec, workerStatusCodec, masterStatusCodec } from '../../common/wire.js';
import { ProtocolError, PayloadTooLargeError } from '../../common/errors.js';
import { fromValue, toValue } from '../../common/json-value.js';
import { jsonCodec } from '../../common/proto-json.js';

describe('proto3 JSON codec', () => {
  it('round-trips an assignment batch with a JSON input', () => {
    const input = { text: 'hi', n: 3, nested: { list: [1, 'a', null, true] } };
    const buf = assignmentsCodec.encode({
      master_id: 'm',
      tasks: [{ task_id: 't1', attempt: 2, kind: 'echo', input, result_token: 'tok', deadline_ms: 1795481962379, priority: 0 }],
    });
    const json = JSON.parse(buf.toString());
    // canonical proto3 JSON: original names, int64 as string, Value as plain JSON, defaults omitted
    expect(json.tasks[0]).toEqual({ task_id: 't1', attempt: 2, kind: 'echo', input, result_token: 'tok', deadline_ms: '1795481962379' });
    const back = assignmentsCodec.decode(buf);
    expect(back.master_id).toBe('m');
    const a = back.tasks[0]!;
    expect(a.deadline_ms).toBe(1795481962379);
    expect(a.priority).toBe(0);
    expect(a.secret_names).toEqual([]);
    expect(a.input).toEqual(input);
  });

  it('accepts lowerCamelCase names, numeric strings and enum numbers; ignores unknown fields', () => {
    const s = workerStatusCodec.decode(
      JSON.stringify({ workerId: 'w', state: 1, capacity: '4', startedAtMs: 12, kinds: ['echo'], future_field: { x: 1 } }),
    );
    expect(s.worker_id).toBe('w');
    expect(s.state).toBe('WORKER_STATE_ONLINE');
    expect(s.capacity).toBe(4);
    expect(s.started_at_ms).toBe(12);
    expect(s.labels).toEqual({});
    expect(s.models).toEqual([]);
  });

  it.each([
    ['not JSON', '{', ''],
    ['a non-object', '[1,2]', ''],
    ['a wrong scalar type', '{"capacity": "lots"}', 'capacity'],
    ['a negative uint32', '{"capacity": -1}', 'capacity'],
    ['a fractional integer', '{"pid": 1.5}', 'pid'],
    ['an unknown enum name', '{"state": "SLEEPY"}', 'state'],
    ['a repeated field that is not an array', '{"kinds": "echo"}', 'kinds'],
    ['a wrong element type', '{"kinds": ["echo", 3]}', 'kinds[1]'],
    ['a map value of the wrong type', '{"labels": {"a": 1}}', 'labels[a]'],
    ['a nested message that is not an object', '{"models": [1]}', 'models[0]'],
    ['an int64 beyond 2^53', '{"ts_ms": "9007199254740993"}', 'ts_ms'],
  ])('rejects %s, naming the field', (_what, payload, path) => {
    try {
      workerStatusCodec.decode(payload);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).path).toBe(path);
    }
  });

  it('treats null as the default value', () => {
    const c = controlCodec.decode('{"action": "CONTROL_ACTION_CANCEL", "task_id": null}');
    expect(c.task_id).toBe('');
    expect(c.action).toBe('CONTROL_ACTION_CANCEL');
  });

  it('rejects oversized payloads before parsing', () => {
    const small = jsonCodec('taskwire.v1.ControlCommand', 100);
    expect(() => small.decode(Buffer.alloc(101, 32))).toThrow(PayloadTooLargeError);
  });

  it('rejects non-finite numbers and too-deep nesting in Value fields', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => assignmentsCodec.decode(JSON.stringify({ tasks: [{ task_id: 't', input: deep }] }))).toThrow(/nested deeper/);
  });

  it('encodes enums by name and omits defaults', () => {
    const json = JSON.parse(masterStatusCodec.encode({ master_id: 'm', state: 'MASTER_STATE_ONLINE', grpc_port: 0 }).toString());
    expect(json).toEqual({ master_id: 'm', state: 'MASTER_STATE_ONLINE' });
  });
});

describe('JSON <-> google.protobuf.Value', () => {
  it('round-trips every JSON type', () => {
    const v = { s: 'x', n: -1.5, b: false, z: null, l: [[], {}, [1]], o: { 'a.b': 'c' } };
    expect(fromValue(toValue(v))).toEqual(v);
  });
});
