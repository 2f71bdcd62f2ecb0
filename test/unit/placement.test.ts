import { describe, expect, it } from 'vitest';
import { DEFAULT_PLACEMENT, createPlacement, placementNames, registerPlacement } from '../../master/scheduling/placement/placement-registry.js';
import type { PlacementCandidate, PlacementContext } from '../../master/scheduling/placement/placement-strategy.js';
import { resolveMasterOptions } from '../../master/config.js';
import { masterOptionsFromEnv } from '../../master/master-options-from-env.js';
import { ConfigError, ValidationError } from '../../common/errors.js';
import { z } from 'zod';
import { taskServiceRig, tick } from '../helpers/task-service-rig.js';

const cand = (id: string, capacity: number, running: number): PlacementCandidate => ({
  id,
  capacity,
  inFlight: new Set(Array.from({ length: running }, (_, i) => `${id}-${i}`)),
  status: {} as never,
});
const ctx = (candidates: PlacementCandidate[], eligible = (c: PlacementCandidate) => c.inFlight.size < c.capacity): PlacementContext => ({
  candidates,
  requirement: { kind: 'echo' },
  eligible,
});

describe('placement registry', () => {
  it('knows least-loaded (the default) and round-robin; creates a fresh strategy per call', () => {
    expect(DEFAULT_PLACEMENT).toBe('least-loaded');
    expect(placementNames()).toEqual(expect.arrayContaining(['least-loaded', 'round-robin']));
    expect(createPlacement('round-robin').name).toBe('round-robin');
    expect(createPlacement('least-loaded')).not.toBe(createPlacement('least-loaded'));
  });

  it('an unknown name or a bad config is a ValidationError; a name registers once', () => {
    expect(() => createPlacement('fastest')).toThrow(ValidationError);
    expect(() => createPlacement('fastest')).toThrow(/unknown placement strategy "fastest".*least-loaded/);
    expect(() => createPlacement('least-loaded', { weight: 2 })).toThrow(/least-loaded/);
    registerPlacement({ name: 'test-first', config: z.object({ skip: z.number().int().min(0) }).strict(), create: ({ skip }) => ({ name: 'test-first', pick: (c) => c.candidates.filter(c.eligible)[skip] }) });
    expect(() => registerPlacement({ name: 'test-first', config: z.object({}), create: () => createPlacement('least-loaded') })).toThrow(/already registered/);
    expect(createPlacement('test-first', { skip: 1 }).pick(ctx([cand('a', 1, 0), cand('b', 1, 0)]))?.id).toBe('b');
    expect(() => createPlacement('test-first', { skip: -1 })).toThrow(/skip/);
  });

  it('TASKWIRE_PLACEMENT: default least-loaded; an unknown name fails config validation naming the variable', async () => {
    expect(resolveMasterOptions({}).placement).toBe('least-loaded');
    expect(resolveMasterOptions({ placement: 'round-robin' }).placement).toBe('round-robin');
    expect(() => resolveMasterOptions({ placement: 'nope' })).toThrow(ConfigError);
    expect(() => resolveMasterOptions({ placement: 'nope' })).toThrow(/^TASKWIRE_PLACEMENT: unknown placement strategy "nope"/);
    await expect(masterOptionsFromEnv({ TASKWIRE_PLACEMENT: 'nope' })).rejects.toThrow(/TASKWIRE_PLACEMENT/);
    expect((await masterOptionsFromEnv({ TASKWIRE_PLACEMENT: 'round-robin' })).placement).toBe('round-robin');
  });
});

describe('least-loaded', () => {
  it('picks the lowest in-flight / capacity among eligible candidates and reserves nothing', () => {
    const s = createPlacement('least-loaded');
    const cs = [cand('a', 4, 2), cand('b', 8, 2), cand('c', 1, 1)];
    expect(s.pick(ctx(cs))?.id).toBe('b');
    expect(cs[1]!.inFlight.size).toBe(2);
    expect(s.pick(ctx(cs, (c) => c.id !== 'b'))?.id).toBe('a');
    expect(s.pick(ctx([cand('x', 1, 1)]))).toBeUndefined();
    expect(s.pick(ctx([]))).toBeUndefined();
  });

  it('breaks ties round-robin', () => {
    const s = createPlacement('least-loaded');
    const cs = [cand('a', 2, 0), cand('b', 2, 0), cand('c', 2, 0)];
    expect([1, 2, 3, 4].map(() => s.pick(ctx(cs))?.id)).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('round-robin', () => {
  it('rotates over eligible candidates whatever their load, and keeps its place when workers come and go', () => {
    const s = createPlacement('round-robin');
    const a = cand('a', 8, 7);
    const b = cand('b', 8, 0);
    const c = cand('c', 8, 0);
    expect([1, 2, 3, 4].map(() => s.pick(ctx([a, b, c]))?.id)).toEqual(['a', 'b', 'c', 'a']);
    expect(s.pick(ctx([a, b, c], (x) => x.id !== 'b'))?.id).toBe('c'); // skips the ineligible
    expect(s.pick(ctx([a, b]))?.id).toBe('a'); // c left: after c comes a again
    expect(s.pick(ctx([cand('z', 1, 1)]))).toBeUndefined();
  });

  it('drives a real scheduler: tasks go to workers in turn, where least-loaded would not', async () => {
    const run = async (name: string) => {
      const r = taskServiceRig({}, createPlacement(name));
      r.registry.applyStatus(r.status('a', 8));
      r.registry.applyStatus(r.status('b', 2));
      const ids = Array.from({ length: 4 }, () => r.svc.admit({ kind: 'sleep', input: { ms: 100000 } }).task.id);
      await tick();
      const who = new Map(r.sent.flatMap((s) => s.tasks.map((t) => [t.task_id!, s.worker] as const)));
      return ids.map((id) => who.get(id));
    };
    expect(await run('round-robin')).toEqual(['a', 'b', 'a', 'b']);
    expect(await run('least-loaded')).toEqual(['a', 'b', 'a', 'a']); // 2/8 < 1/2
  });
});
