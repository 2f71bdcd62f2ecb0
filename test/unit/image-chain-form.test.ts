/** The chat's image filter choice → the `ops` of POST /api/v1/images (web/src/image-chain-form.ts, pure). */
import { describe, expect, it } from 'vitest';
import { chainFromChoice, describeChain } from '../../web/src/image-chain-form.js';

describe('chat image chain', () => {
  it('builds the ops in the fixed order, with the format last', () => {
    const c = chainFromChoice({ filters: { grayscale: {}, blur: { sigma: '1.5' }, resize: { width: '160', height: '' } }, format: 'webp', quality: '70' });
    expect(c).toEqual({ ok: true, ops: [{ op: 'resize', width: 160, height: undefined, fit: 'cover' }, { op: 'blur', sigma: 1.5 }, { op: 'grayscale' }, { op: 'format', format: 'webp', quality: 70 }] });
    if (c.ok) expect(describeChain(c.ops)).toBe('resize 160× → blur 1.5 → grayscale → webp');
  });

  it('names the filter and field of a bad value, and needs at least one operation', () => {
    expect(chainFromChoice({ filters: { blur: { sigma: '0.1' } }, format: 'keep' })).toMatchObject({ ok: false, message: expect.stringMatching(/^blur sigma: /) });
    expect(chainFromChoice({ filters: { resize: { width: '', height: '' } }, format: 'keep' })).toMatchObject({ ok: false, message: expect.stringMatching(/^resize width: resize needs width or height/) });
    expect(chainFromChoice({ filters: {}, format: 'keep' })).toMatchObject({ ok: false, message: 'Pick at least one filter or an output format.' });
    expect(chainFromChoice({ filters: {}, format: 'png' })).toEqual({ ok: true, ops: [{ op: 'format', format: 'png' }] });
  });
});
