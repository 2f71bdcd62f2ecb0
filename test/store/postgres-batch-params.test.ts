/**
 * The JSON columns of a write batch go to PostgreSQL as one JSON array per
 * column (master/store/postgres-batch-params.ts) instead of text arrays: the
 * stored text must be exactly what the master made, for a single master's
 * insert and update, a multi-master's fenced insert and update, and the
 * event outbox, with text that JSON escapes (quotes, backslashes, control
 * characters, a lone surrogate, non-BMP characters); a task's initial state
 * is SQL NULL, not the JSON `null`.
 */
import { describe, expect, it } from 'vitest';
import { batchColumns, jsonArrayText, rowsFrom } from '../../master/store/postgres-batch-params.js';
import { PostgresTaskStore } from '../../master/store/postgres-task-store.js';
import { PostgresEventOutbox } from '../../master/events/postgres-event-outbox.js';
import type { TaskEvent } from '../../master/core/task-events.js';
import { transition } from '../../master/core/task-record.js';
import { serializeFixed, serializeState } from '../../master/store/sqlite-rows.js';
import { postgresAvailable, postgresMissingReason, queryRows } from '../helpers/postgres.js';
import { postgresRoomsFixture } from '../helpers/postgres-fixture.js';
import { newTask } from './store-contract.js';

const TRICKY = 'say "hi" \\ back\\slash \\" \n\t\r \u0001 \ud800 lone, 😀 é [1,2] {"a":null} null';

const available = postgresAvailable();

describe('batch parameters', () => {
  it('JSON texts joined as a JSON array (null as null); the other columns as arrays; ROWS FROM names each parameter once', () => {
    expect(jsonArrayText(['{"a":1}', null, '[]'])).toBe('[{"a":1},null,[]]');
    expect(JSON.parse(jsonArrayText([]))).toEqual([]);
    expect(batchColumns([['x', '{"a":1}', 1], ['y', null, 2]], 3, new Set([1]))).toEqual([['x', 'y'], '[{"a":1},null]', [1, 2]]);
    expect(rowsFrom(['text', 'json', 'bigint'], 4)).toBe('ROWS FROM (unnest($4::text[]), json_array_elements($5::json), unnest($6::bigint[]))');
  });
});

describe.skipIf(!available)(`JSON columns stored as the master wrote them${available ? '' : ` (skipped: ${postgresMissingReason()})`}`, () => {
  const { server, pool } = postgresRoomsFixture();

  const stored = async (url: string, id: string) => (await queryRows<{ record: string; state: string | null }>(url, 'SELECT record, state FROM tasks WHERE id = $1', [id]))[0];

  for (const mode of ['single', 'multi'] as const) {
    it(`${mode} master: the insert's record and state, then the final update's state, byte for byte; an initial state is NULL`, async () => {
      const url = await server().createDatabase();
      const cluster = mode === 'multi' ? { owner: 'm-1', epoch: 1, onRefused: () => undefined, onHandedOff: () => undefined, isLeader: () => true } : undefined;
      const store = await PostgresTaskStore.open({ url, pingIntervalMs: 60_000, cluster });
      try {
        const fresh = newTask({ input: { text: TRICKY, list: [TRICKY, 1.5, true, null] } });
        const done = newTask({ input: { prompt: TRICKY } });
        done.attempt = 1;
        done.workerId = 'w-1';
        transition(done, 'assigned', Date.now());
        store.put(fresh);
        store.put(done);
        await store.commit();
        expect(serializeState(fresh)).toBeNull();
        expect(await stored(url, fresh.id)).toEqual({ record: serializeFixed(fresh), state: null });
        expect(await stored(url, done.id)).toEqual({ record: serializeFixed(done), state: serializeState(done) });
        // The final update (its own batch: the row is written already).
        done.finishedAtMs = Date.now();
        done.result = { text: TRICKY, nested: { q: '"' } };
        transition(done, 'succeeded', done.finishedAtMs);
        store.put(done);
        await store.commit();
        const row = await stored(url, done.id);
        expect(row?.state).toBe(serializeState(done));
        expect(JSON.parse(row!.state!).result).toEqual({ text: TRICKY, nested: { q: '"' } });
      } finally {
        await store.close();
      }
    });
  }

  it('event outbox: each event JSON stored as written, read back equal, in order', async () => {
    const url = await server().createDatabase();
    const outbox = await PostgresEventOutbox.open(pool(url), url);
    try {
      const events = [0, 1, 2].map((i) => ({ seq: i, ts: 1000 + i, tenant: 'default', type: 'task.submitted', task_id: `t-${i}`, kind: 'echo', note: `${TRICKY} ${i}` }) as unknown as TaskEvent);
      await new Promise<void>((resolve, reject) => outbox.append(events, (err) => (err ? reject(err) : resolve())));
      const rows = await queryRows<{ json: string; task_id: string; ts: number }>(url, 'SELECT json, task_id, ts FROM tw_events ORDER BY id');
      expect(rows.map((r) => r.json)).toEqual(events.map((e) => JSON.stringify(e)));
      expect(rows.map((r) => [r.task_id, Number(r.ts)])).toEqual([['t-0', 1000], ['t-1', 1001], ['t-2', 1002]]);
      expect((await outbox.after(0, {}, 10)).map((s) => s.event)).toEqual(events);
    } finally {
      await outbox.close();
    }
  });
});
