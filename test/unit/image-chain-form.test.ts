/** The chat's image chain (the steps the user put in order) → the `ops` of POST /api/v1/images (web/src/image-chain-form.ts, pure). */
import { describe, expect, it } from 'vitest';
import { EDGE_KERNELS, IMAGE_FORMATS, IMAGE_OP_NAMES, RESIZE_FITS, imageOp } from '../../common/kinds/image.js';
import { chainFromChoice, describeChain } from '../../web/src/image-chain-form.js';
import { CHAT_OPS, EDGE_KERNEL_CHOICES, FLIP_CHOICES, OP_FIELDS, OUTPUT_FORMATS, RESIZE_FIT_CHOICES, newStep, type ChainStep } from '../../web/src/image-filters.js';

const step = (op: ChainStep['op'], values: Record<string, string> = {}): ChainStep => ({ op, values: { ...newStep(op).values, ...values } });

describe('chat image chain', () => {
  it('builds the ops in the order of the steps, with the format last', () => {
    const c = chainFromChoice({ steps: [step('grayscale'), step('blur', { sigma: '1.5' }), step('resize', { width: '160', height: '' })], format: 'webp', quality: '70' });
    expect(c).toEqual({ ok: true, ops: [{ op: 'grayscale' }, { op: 'blur', sigma: 1.5 }, { op: 'resize', width: 160, height: undefined, fit: 'cover' }, { op: 'format', format: 'webp', quality: 70 }] });
    if (c.ok) expect(describeChain(c.ops)).toBe('grayscale → blur 1.5 → resize 160× → webp');
    // Reversed steps give the reversed chain; the same operation may come twice.
    const r = chainFromChoice({ steps: [step('resize', { width: '160', height: '' }), step('blur', { sigma: '1.5' }), step('grayscale'), step('blur', { sigma: '3' })], format: 'keep' });
    expect(r.ok && r.ops.map((o) => o.op)).toEqual(['resize', 'blur', 'grayscale', 'blur']);
  });

  it('every operation with its starting values is a valid chain step, with its fields', () => {
    for (const op of CHAT_OPS) {
      const c = chainFromChoice({ steps: [newStep(op)], format: 'keep' });
      expect(c, op).toMatchObject({ ok: true });
      if (c.ok) expect(imageOp.parse(c.ops[0]), op).toMatchObject({ op });
    }
    const c = chainFromChoice({ steps: [step('crop', { left: '4', top: '8', width: '32', height: '16' }), step('flip', { direction: 'both' }), step('edge', { kernel: 'sobel_y' }), step('resize', { width: '20', fit: 'inside' })], format: 'png' });
    expect(c).toEqual({ ok: true, ops: [{ op: 'crop', left: 4, top: 8, width: 32, height: 16 }, { op: 'flip', direction: 'both' }, { op: 'edge', kernel: 'sobel_y' }, { op: 'resize', width: 20, height: 600, fit: 'inside' }, { op: 'format', format: 'png' }] });
    if (c.ok) expect(describeChain(c.ops)).toBe('crop 32×16+4+8 → flip both → edge sobel_y → resize 20×600 → png');
  });

  it("offers exactly the master's operations and choices (format as the Output format field)", () => {
    expect([...CHAT_OPS, 'format'].sort()).toEqual([...IMAGE_OP_NAMES].sort());
    expect(RESIZE_FIT_CHOICES).toEqual(RESIZE_FITS);
    expect(EDGE_KERNEL_CHOICES).toEqual(EDGE_KERNELS);
    expect([...FLIP_CHOICES].sort()).toEqual(['both', 'horizontal', 'vertical']);
    expect(OUTPUT_FORMATS.filter((f) => f !== 'keep')).toEqual(IMAGE_FORMATS);
    expect(OP_FIELDS.resize.find((f) => f.name === 'fit')?.choices).toBe(RESIZE_FIT_CHOICES);
  });

  it('names the step, operation and field of a bad value, and needs at least one operation', () => {
    expect(chainFromChoice({ steps: [step('resize'), step('blur', { sigma: '0.1' })], format: 'keep' })).toMatchObject({ ok: false, message: expect.stringMatching(/^step 2 blur sigma: /), step: 1, field: 'sigma' });
    expect(chainFromChoice({ steps: [step('resize', { width: '', height: '' })], format: 'keep' })).toMatchObject({ ok: false, message: expect.stringMatching(/^step 1 resize width: resize needs width or height/), step: 0, field: 'width' });
    expect(chainFromChoice({ steps: [step('crop', { top: '' })], format: 'keep' })).toMatchObject({ ok: false, message: expect.stringMatching(/^step 1 crop top: /), step: 0, field: 'top' });
    expect(chainFromChoice({ steps: [step('grayscale')], format: 'jpeg', quality: '0' })).toMatchObject({ ok: false, message: expect.stringMatching(/^format quality: /) });
    expect(chainFromChoice({ steps: [], format: 'keep' })).toMatchObject({ ok: false, message: 'Add at least one operation or pick an output format.' });
    expect(chainFromChoice({ steps: [], format: 'png' })).toEqual({ ok: true, ops: [{ op: 'format', format: 'png' }] });
  });
});
