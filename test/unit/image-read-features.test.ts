/**
 * The read feature of an image task's input: the master tells the input
 * blob's format from its first bytes (not its declared content type) and the
 * task's requirement gets `read:<format>` for every format but jpeg and png,
 * so placement picks only a worker that advertises `image:read:<format>`.
 * Through the real TaskService (submit and submitMany), a real BlobStore and
 * the real scheduler: a webp input goes to the worker that reads webp, never
 * to the one that does not; a png input to either; with only the one that
 * does not read webp online, a webp input is refused naming the feature.
 */
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../master/blobs/blob-store.js';
import { BlobReadFeatures } from '../../master/blobs/blob-read-features.js';
import { allImageFeatures } from '../../common/kinds/image.js';
import { imageReadAdvert, imageReadFeatures, sniffImageFormat } from '../../common/kinds/image-read.js';
import { requirementKey, validateTaskInput } from '../../common/task-kinds.js';
import { taskServiceRig, tick } from '../helpers/task-service-rig.js';

const store = new BlobStore();
afterAll(() => store.destroy());

const pixels = (i = 0) => sharp({ create: { width: 8 + i, height: 6, channels: 3, background: { r: 10 * i, g: 80, b: 160 } } });
const encoded = async (format: 'png' | 'jpeg' | 'webp' | 'avif' | 'gif' | 'tiff', i = 0): Promise<Buffer> => pixels(i).toFormat(format).toBuffer();

// A Java-like worker (png, jpeg out; no webp or avif in) and a sharp-like one (reads webp and avif).
const JAVA = allImageFeatures(['jpeg', 'png'], ['bmp', 'gif', 'jpeg', 'png', 'tiff']);
const SHARP = allImageFeatures(undefined, ['avif', 'gif', 'jpeg', 'png', 'tiff', 'webp']);

describe('the input format from the first bytes', () => {
  it('tells every format a worker may read, and nothing of a non-image', async () => {
    for (const f of ['png', 'jpeg', 'webp', 'avif', 'gif', 'tiff'] as const) expect(sniffImageFormat(await encoded(f)), f).toBe(f);
    const bmp = Buffer.alloc(54);
    bmp.write('BM', 0, 'latin1');
    expect(sniffImageFormat(bmp)).toBe('bmp');
    const heic = Buffer.from('00000018667479706865696300000000686569636d696631', 'hex'); // ftyp heic, compatible heic mif1
    expect(sniffImageFormat(heic)).toBe('heif');
    const avifMif1First = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmif1\0\0\0\0avifmiaf', 'latin1')]); // major mif1, compatible avif
    expect(sniffImageFormat(avifMif1First)).toBe('avif');
    expect(sniffImageFormat(Buffer.from('not an image, just text'))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array(0))).toBeUndefined();
  });

  it('jpeg, png and unknown inputs need no read feature; the others read:<format>', () => {
    expect(imageReadFeatures('jpeg')).toEqual([]);
    expect(imageReadFeatures('png')).toEqual([]);
    expect(imageReadFeatures(undefined)).toEqual([]);
    expect(imageReadFeatures('webp')).toEqual(['read:webp']);
    expect(imageReadAdvert(['webp', 'png', 'jpg', 'png'])).toEqual(['image:read:png', 'image:read:webp']);
  });
});

describe('the requirement of an image task', () => {
  const source = new BlobReadFeatures(store);

  it('a webp blob adds read:webp to the chain features, sorted; png, junk and a missing blob add nothing', async () => {
    const webp = await store.put(await encoded('webp'), 'image/png'); // the declared type lies: the bytes decide
    const png = await store.put(await encoded('png'), 'image/webp');
    const junk = await store.put(Buffer.from('not an image'), 'image/webp');
    expect(await source.features({ blob: webp.id, ops: [] })).toEqual(['read:webp']);
    expect(await source.features({ blob: png.id, ops: [] })).toEqual([]);
    expect(await source.features({ blob: junk.id, ops: [] })).toEqual([]);
    expect(await source.features({ blob: 'f'.repeat(64), ops: [] })).toEqual([]);
    expect(await source.features({ blob: 'not-a-blob-id' } as never)).toEqual([]);
    expect(await source.features(null)).toEqual([]);
    const ops = [{ op: 'grayscale' }, { op: 'format', format: 'png' }];
    const { requirement } = validateTaskInput('image', { blob: webp.id, ops } as never, ['read:webp']);
    expect(requirement).toEqual({ kind: 'image', features: ['format:png', 'op:format', 'op:grayscale', 'read:webp'] });
    expect(requirementKey(requirement)).toBe('image\u0001format:png,op:format,op:grayscale,read:webp');
  });

  function rig() {
    const r = taskServiceRig();
    r.svc.useFeatureSource('image', source);
    const worker = (id: string, features: string[]) =>
      r.registry.applyStatus({ ...r.status(id, 8), kinds: ['image'], features } as never);
    return { ...r, worker };
  }
  const assignedTo = (r: ReturnType<typeof rig>) => new Map(r.sent.flatMap((m) => m.tasks.map((t) => [t.task_id!, m.worker] as const)));

  it('submit and submitMany place webp inputs only on the worker that reads webp; png inputs on either', async () => {
    const r = rig();
    r.worker('java', JAVA);
    r.worker('sharp', SHARP);
    const ops = [{ op: 'blur', sigma: 1 }];
    const webps = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => (await store.put(await encoded('webp', i), 'image/webp')).id));
    const pngs = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => (await store.put(await encoded('png', i), 'image/png')).id));
    const one = await r.svc.submit({ kind: 'image', input: { blob: webps[0]!, ops } as never });
    expect(one.task.requirement.features).toContain('read:webp');
    const many = await r.svc.submitMany([...webps.slice(1), ...pngs].map((blob) => ({ kind: 'image', input: { blob, ops } as never })));
    await tick();
    const placed = assignedTo(r);
    const webpTasks = [one.task, ...many.slice(0, 5).map((m) => m.task)];
    for (const t of webpTasks) expect(placed.get(t.id), t.id).toBe('sharp');
    const pngTasks = many.slice(5).map((m) => m.task);
    for (const t of pngTasks) expect(t.requirement.features).not.toContain('read:png');
    // The sharp worker's 8 slots hold the 6 webp and at most 2 png: the rest of the png went to the Java worker.
    expect(pngTasks.some((t) => placed.get(t.id) === 'java'), JSON.stringify([...placed])).toBe(true);
    expect(pngTasks.every((t) => placed.has(t.id))).toBe(true);
  });

  it('with only a worker that does not read webp, a webp input is refused naming read:webp; a png one is placed', async () => {
    const r = rig();
    r.worker('java', JAVA);
    const webp = (await store.put(await encoded('webp', 9), 'image/webp')).id;
    const png = (await store.put(await encoded('png', 9), 'image/png')).id;
    await expect(r.svc.submit({ kind: 'image', input: { blob: webp, ops: [{ op: 'grayscale' }] } as never })).rejects.toThrow(
      /no worker serving "image" supports read:webp \(1 online worker of the kind\)/,
    );
    await r.svc.submit({ kind: 'image', input: { blob: png, ops: [{ op: 'grayscale' }] } as never });
    await tick();
    expect([...assignedTo(r).values()]).toEqual(['java']);
  });

  it('a worker that advertises no read features (older) still gets jpeg and png, never webp', async () => {
    const r = rig();
    r.worker('old', allImageFeatures(['jpeg', 'png'])); // op: and format: only
    const jpeg = (await store.put(await encoded('jpeg', 3), 'image/jpeg')).id;
    const webp = (await store.put(await encoded('webp', 3), 'image/webp')).id;
    await r.svc.submit({ kind: 'image', input: { blob: jpeg, ops: [{ op: 'grayscale' }] } as never });
    await expect(r.svc.submit({ kind: 'image', input: { blob: webp, ops: [{ op: 'grayscale' }] } as never })).rejects.toThrow(/read:webp/);
    await tick();
    expect([...assignedTo(r).values()]).toEqual(['old']);
  });
});
