/**
 * The worker registry at scale: a status that only reports progress does not
 * rebuild the online list (the per-worker cost of 1,000 busy workers each
 * publishing every 250 ms); coming, going, a state change or a change of
 * tenant pinning does, in registration order.
 */
import { describe, expect, it } from 'vitest';
import { WorkerRegistry } from '../../master/scheduling/worker-registry.js';
import type { WorkerStatus__Output } from '../../common/wire.js';
import { TENANTS_LABEL } from '../../common/worker-tenants.js';

const clock = { now: () => 1000 };

function status(id: string, over: Partial<WorkerStatus__Output> = {}): WorkerStatus__Output {
  return {
    worker_id: id, state: 'WORKER_STATE_ONLINE', kinds: ['echo'], capacity: 2, running: 0, language: 'typescript', version: '1',
    protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, models: [], labels: {}, reason: '', load: null,
    ...over,
  } as WorkerStatus__Output;
}

describe('WorkerRegistry online list', () => {
  it('is rebuilt only when a worker comes, goes or changes state or pinning', () => {
    const r = new WorkerRegistry(clock);
    for (let i = 0; i < 1000; i++) r.applyStatus(status(`w${i}`));
    const list = r.schedulable();
    expect(list.map((w) => w.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `w${i}`));
    // Progress reports: same list object, the record updated in place.
    for (let i = 0; i < 1000; i++) r.applyStatus(status(`w${i}`, { running: 1, ts_ms: 2 }));
    expect(r.schedulable()).toBe(list);
    expect(r.get('w7')!.status.running).toBe(1);
    expect(r.hasPinned).toBe(false);
    // Draining leaves the list; coming back joins it again in registration order.
    r.applyStatus(status('w3', { state: 'WORKER_STATE_DRAINING' }));
    expect(r.schedulable()).not.toBe(list);
    expect(r.schedulable().some((w) => w.id === 'w3')).toBe(false);
    r.applyStatus(status('w3'));
    expect(r.schedulable()[3]!.id).toBe('w3');
    // Pinned to a tenant by a later status: seen at once.
    r.applyStatus(status('w5', { labels: { [TENANTS_LABEL]: 'acme' } }));
    expect(r.hasPinned).toBe(true);
    r.applyStatus(status('w5'));
    expect(r.hasPinned).toBe(false);
    r.forget('w9');
    expect(r.schedulable().length).toBe(999);
  });

  it('kinds() is kept while nothing changes, recomputed after a kind or membership change', () => {
    const r = new WorkerRegistry(clock);
    for (let i = 0; i < 1000; i++) r.applyStatus(status(`w${i}`));
    const kinds = r.kinds();
    expect(kinds).toEqual(['echo']);
    for (let i = 0; i < 1000; i++) r.applyStatus(status(`w${i}`, { running: 1, kinds: ['echo', 'echo'] })); // progress, same kinds
    expect(r.kinds()).toBe(kinds);
    r.applyStatus(status('w1', { kinds: ['sleep', 'echo'] })); // a worker's kinds changed
    expect(r.kinds()).toEqual(['echo', 'sleep']);
    const two = r.kinds();
    r.applyStatus(status('w1', { kinds: ['echo', 'sleep'] })); // same set, other order
    expect(r.kinds()).toBe(two);
    r.applyStatus(status('w1', { state: 'WORKER_STATE_OFFLINE' })); // membership
    expect(r.kinds()).toEqual(['echo']);
    r.applyStatus(status('x', { kinds: ['image'] })); // a new worker
    expect(r.kinds()).toEqual(['echo', 'image']);
    r.forget('x');
    expect(r.kinds()).toEqual(['echo']);
  });

  it('the online list and pinning are read right after changes made before any read', () => {
    const r = new WorkerRegistry(clock);
    r.applyStatus(status('a'));
    r.applyStatus(status('b', { labels: { [TENANTS_LABEL]: 'acme' } }));
    expect(r.hasPinned).toBe(true); // read first, before schedulable()
    r.applyStatus(status('b', { state: 'WORKER_STATE_OFFLINE' }));
    expect(r.hasPinned).toBe(false);
    expect(r.schedulable().map((w) => w.id)).toEqual(['a']);
    expect(r.unsupported({ kind: 'echo', features: ['op:x'] })).toBeUndefined(); // echo advertises no features: supports all
  });

  it('a kind with models needs one ready, without any listed any worker of the kind serves', () => {
    const r = new WorkerRegistry(clock);
    const a = r.applyStatus(status('a', { kinds: ['llm'], models: [{ kind: 'llm', name: 'm', ready: false } as never] }));
    const b = r.applyStatus(status('b', { kinds: ['llm'], models: [{ kind: 'llm', name: 'm', ready: false } as never, { kind: 'llm', name: 'n', ready: true } as never] }));
    const c = r.applyStatus(status('c', { kinds: ['llm'] }));
    expect([a, b, c].map((w) => r.supports(w, { kind: 'llm' }))).toEqual([false, true, true]);
  });
});
