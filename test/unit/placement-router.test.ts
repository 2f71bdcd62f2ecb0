import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { feedPlacement, parsePlacementSpec, PlacementRouter } from '../../master/scheduling/placement/placement-router.js';

describe('placement router', () => {
  it('parses one name or a per-kind / per-model list, and names the variable on errors', () => {
    expect(parsePlacementSpec('p2c')).toEqual({ default: 'p2c' });
    expect(parsePlacementSpec('llm=affinity, infer:resnet=least-latency')).toEqual({ llm: 'affinity', 'infer:resnet': 'least-latency', default: 'least-loaded' });
    expect(() => parsePlacementSpec('llm=nope')).toThrow(ConfigError);
    expect(() => parsePlacementSpec('Bad Kind=p2c')).toThrow(/TASKWIRE_PLACEMENT/);
    expect(() => parsePlacementSpec('fastest')).toThrow(/known: .*round-robin/);
  });

  it('routes by kind:model, then kind, then default, and changes at run time', () => {
    const r = new PlacementRouter(parsePlacementSpec('llm=affinity,infer:resnet=least-latency,default=p2c'));
    expect(r.strategyFor('llm').name).toBe('affinity');
    expect(r.strategyFor('infer', 'resnet').name).toBe('least-latency');
    expect(r.strategyFor('infer', 'other').name).toBe('p2c');
    expect(r.strategyFor('echo').name).toBe('p2c');
    expect(r.set('echo', 'weighted')).toBeUndefined();
    expect(r.strategyFor('echo').name).toBe('weighted');
    expect(r.set('echo', null)).toBe('weighted');
    expect(r.strategyFor('echo').name).toBe('p2c');
    expect(() => r.set('default', null)).toThrow(/default/);
    expect(() => r.set('echo', 'nope')).toThrow(/unknown placement/);
  });

  it('feeds succeeded attempts with a worker and run time to the strategies', () => {
    const seen: unknown[] = [];
    const router = { name: 'x', pick: () => undefined, observe: (s: unknown) => seen.push(s) };
    let listener: ((ev: { worker_id: string | null; run_ms: number | null; ts: number }) => void) | undefined;
    feedPlacement({ on: (_t, l) => ((listener = l), () => undefined) }, router);
    listener!({ worker_id: 'w-1', run_ms: 12, ts: 5 });
    listener!({ worker_id: null, run_ms: 12, ts: 6 });
    listener!({ worker_id: 'w-2', run_ms: null, ts: 7 });
    expect(seen).toEqual([{ workerId: 'w-1', runMs: 12, atMs: 5 }]);
  });
});
