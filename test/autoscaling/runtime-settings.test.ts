/**
 * Run-time placement and autoscaling changes over REST on a real master:
 * operator-only, 400 naming the field, every change a `config.changed`
 * event (who, what, before, after) on the event stream, kept across a
 * restart with a data dir.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const ADMIN = 'admin-key-aaaaaaaaaaaaaaaaaaaa';
const OPERATOR = 'operator-key-bbbbbbbbbbbbbbbbbb';
const USER = 'user-key-cccccccccccccccccccccccc';

let c: TestCluster | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await c?.close();
  c = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function call(method: string, path: string, key: string | undefined, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${c!.httpUrl}/api/v1${path}`, {
    method,
    headers: { ...(key && { authorization: `Bearer ${key}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

function start(dataDir: string): Promise<TestCluster> {
  return startCluster({ workers: 1, master: { dataDir, apiKeys: [ADMIN, `operator:${OPERATOR}`, `user:${USER}`], placement: 'llm=affinity' } });
}

describe('run-time placement and autoscaling settings', () => {
  it('operators change them, users cannot, bad input is a 400 naming the field, each change is an audit event, and a restart keeps them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-settings-'));
    dirs.push(dir);
    c = await start(dir);

    expect((await call('GET', '/placement', USER)).status).toBe(403);
    expect((await call('PUT', '/placement/echo', USER, { strategy: 'p2c' })).status).toBe(403);
    expect((await call('PUT', '/autoscaling/echo', undefined, {})).status).toBe(401);
    const before = await call('GET', '/placement', OPERATOR);
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({ strategies: { llm: 'affinity', default: 'least-loaded' }, slow_start_ms: 0 });
    expect(before.json.known).toContain('p2c');

    // Bad input: 400 with the field.
    let r = await call('PUT', '/placement/echo', OPERATOR, { strategy: 'fastest' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: 'BAD_REQUEST', field: 'strategy' });
    expect(r.json.error.message).toMatch(/known: /);
    r = await call('PUT', '/placement/Bad%20Kind', OPERATOR, { strategy: 'p2c' });
    expect(r.json.error).toMatchObject({ field: 'scope' });
    r = await call('DELETE', '/placement/default', OPERATOR);
    expect(r.status).toBe(400);
    r = await call('PUT', '/placement', OPERATOR, { slow_start_ms: -1 });
    expect(r.json.error.field).toBe('slow_start_ms');
    r = await call('PUT', '/autoscaling/echo', OPERATOR, { min_workers: 3, max_workers: 2 });
    expect(r.json.error).toMatchObject({ code: 'BAD_REQUEST', field: 'policy.min_workers' });
    r = await call('PUT', '/autoscaling/echo', OPERATOR, { actuator: 'local' });
    expect(r.json.error.field).toBe('actuator'); // no local workers under this master
    r = await call('PUT', '/autoscaling/echo', OPERATOR, { mystery: 1 });
    expect(r.status).toBe(400);
    r = await call('DELETE', '/autoscaling/nothing-here', OPERATOR);
    expect(r.status).toBe(400);

    // Changes.
    r = await call('PUT', '/placement/echo', OPERATOR, { strategy: 'p2c' });
    expect(r).toMatchObject({ status: 200, json: { scope: 'echo', before: null, after: 'p2c' } });
    expect(c.master.placement.strategyFor('echo').name).toBe('p2c');
    r = await call('DELETE', '/placement/llm', ADMIN);
    expect(r.json).toMatchObject({ before: 'affinity', after: null });
    r = await call('PUT', '/placement', ADMIN, { slow_start_ms: 15_000 });
    expect(r.json.slow_start_ms).toEqual({ before: 0, after: 15_000 });
    r = await call('PUT', '/autoscaling/echo', OPERATOR, { min_workers: 1, max_workers: 3 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ pool: 'echo', before: null, after: { min_workers: 1, max_workers: 3, actuator: 'none', scale_down_window_ms: 60_000 } });
    await c.master.autoscaler.evaluate();
    const pools = (await call('GET', '/autoscaling', OPERATOR)).json.pools;
    expect(pools).toEqual([expect.objectContaining({ pool: 'echo', actuator: 'none', current: 1, desired: 1, workers_online: 1 })]);

    // The audit trail on the event stream.
    const events = await call('GET', '/events?follow=false&type=config.changed', OPERATOR);
    const audit = events.json.events.map((e: any) => ({ actor: e.actor, role: e.role, target: e.target, scope: e.scope, before: e.before, after: e.after }));
    expect(audit).toHaveLength(4);
    expect(audit[0]).toMatchObject({ role: 'operator', target: 'placement', scope: 'echo', before: null, after: 'p2c' });
    expect(audit[0].actor).toMatch(/^key-/);
    expect(audit[1]).toMatchObject({ role: 'admin', target: 'placement', scope: 'llm', before: 'affinity', after: null });
    expect(audit[2]).toMatchObject({ target: 'placement.slow_start', before: 0, after: 15_000 });
    expect(audit[3]).toMatchObject({ target: 'autoscaling', scope: 'echo', before: null, after: { max_workers: 3 } });
    expect(JSON.stringify(events.json)).not.toContain(OPERATOR);
    expect(statSync(join(dir, 'runtime-settings.json')).mode & 0o777).toBe(0o600);

    // A restart with the same data dir: the changes are applied again over the start-up configuration.
    await c.close();
    c = await start(dir);
    expect(c.master.placement.config).toEqual({ echo: 'p2c', default: 'least-loaded' });
    expect(c.master.placement.slowStart.windowMs).toBe(15_000);
    expect(c.master.autoscaler.policies()).toEqual({ echo: expect.objectContaining({ min_workers: 1, max_workers: 3 }) });
    // The audit events survive too (the durable outbox).
    const after = await call('GET', '/events?follow=false&type=config.changed', OPERATOR);
    expect(after.json.events).toHaveLength(4);
    r = await call('DELETE', '/autoscaling/echo', OPERATOR);
    expect(r.json).toMatchObject({ before: { max_workers: 3 }, after: null });
  });
});
