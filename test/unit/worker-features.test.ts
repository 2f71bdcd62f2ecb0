/**
 * Per-feature placement (WorkerStatus.features): an image chain needs its
 * operations and output format; a worker that advertises features of a kind
 * gets only tasks whose features it has all of; a worker that advertises none
 * (every worker from before the field) is taken to support the whole kind.
 * Tasks of different feature sets wait in different queue heaps, so an avif
 * task that no idle worker can take does not hold up a png one behind it.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, type SchedulableTask } from '../../master/scheduling/scheduler.js';
import { TaskQueue } from '../../master/core/task-queue.js';
import { WorkerRegistry, featuresByKind } from '../../master/scheduling/worker-registry.js';
import type { WorkerStatus__Output } from '../../common/wire.js';
import { requirementKey, validateTaskInput, type Requirement } from '../../common/task-kinds.js';
import { allImageFeatures, imageFeatures } from '../../common/kinds/image.js';

const clock = { now: () => 1000 };
const BLOB = 'a'.repeat(64);

function status(id: string, over: Partial<WorkerStatus__Output> = {}): WorkerStatus__Output {
  return {
    worker_id: id, state: 'WORKER_STATE_ONLINE', kinds: ['echo', 'sleep', 'image'], capacity: 1, running: 0, language: 'typescript', version: '1',
    protocol: 'taskwire.v1', hostname: 'h', pid: 1, started_at_ms: 1, ts_ms: 1, models: [], labels: {}, reason: '', load: null, metrics: null, features: [],
    ...over,
  };
}

let seq = 0;
function task(id: string, requirement: Requirement): SchedulableTask {
  return { id, requirement, key: requirementKey(requirement), priority: 0, seq: ++seq };
}

const imageReq = (ops: unknown[]): Requirement => validateTaskInput('image', { blob: BLOB, ops } as never).requirement;

describe('image features', () => {
  it('a chain needs its operations and its output format, sorted, once each', () => {
    expect(imageFeatures([{ op: 'resize' }, { op: 'blur' }, { op: 'resize' }, { op: 'format', format: 'avif' }])).toEqual(['format:avif', 'op:blur', 'op:format', 'op:resize']);
    const req = imageReq([{ op: 'grayscale' }, { op: 'format', format: 'webp' }]);
    expect(req).toEqual({ kind: 'image', features: ['format:webp', 'op:format', 'op:grayscale'] });
    expect(requirementKey(req)).toBe('image\u0001format:webp,op:format,op:grayscale');
    // Kinds without features keep their key.
    expect(requirementKey(validateTaskInput('echo', { text: 'x' }).requirement)).toBe('echo');
  });

  it('parses advertised features per kind and ignores entries without a kind', () => {
    const m = featuresByKind(['image:op:resize', 'image:format:avif', 'nokind', ':x', 'y:', 'ocr:lang:en']);
    expect([...m.keys()].sort()).toEqual(['image', 'ocr']);
    expect([...m.get('image')!].sort()).toEqual(['format:avif', 'op:resize']);
  });
});

describe('placement by features', () => {
  const pillow = allImageFeatures(['jpeg', 'png', 'webp']);
  const sharp = allImageFeatures();

  it('places an avif task only on the worker that writes avif; a worker without the field gets anything', () => {
    const registry = new WorkerRegistry(clock);
    const queue = new TaskQueue<SchedulableTask>();
    const scheduler = new Scheduler(queue, registry);
    const py = registry.applyStatus(status('py', { features: pillow, capacity: 4 }));
    const avif = imageReq([{ op: 'format', format: 'avif' }]);
    const png = imageReq([{ op: 'format', format: 'png' }]);
    expect(registry.supports(py, avif)).toBe(false);
    expect(registry.supports(py, png)).toBe(true);
    expect(registry.unsupported(avif)).toEqual({ workers: 1, missing: ['format:avif'] });
    expect(registry.unsupported(png)).toBeUndefined();

    // Only the Python worker: the avif task waits, the png task behind it runs.
    queue.push(task('a1', avif));
    queue.push(task('p1', png));
    expect([...scheduler.matches()].map((m) => [m.task.id, m.worker.id])).toEqual([['p1', 'py']]);

    // The sharp worker comes: the avif task goes there, never to py (which still has free slots).
    registry.applyStatus(status('ts', { features: sharp, capacity: 4 }));
    queue.push(task('a2', avif));
    expect([...scheduler.matches()].map((m) => [m.task.id, m.worker.id])).toEqual([['a1', 'ts'], ['a2', 'ts']]);
    expect(registry.unsupported(avif)).toBeUndefined();

    // An older worker without the field serves the whole kind.
    const old = new WorkerRegistry(clock);
    const w = old.applyStatus(status('old', { features: [] }));
    expect(old.supports(w, avif)).toBe(true);
    expect(old.unsupported(avif)).toBeUndefined();
    // Features of another kind say nothing about image.
    const other = old.applyStatus(status('other', { features: ['ocr:lang:en'] }));
    expect(old.supports(other, avif)).toBe(true);
  });
});
