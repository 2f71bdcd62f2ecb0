/**
 * The chain of image filters a user picks in the chat (pure: no DOM, tested
 * in Node): which filters are on and their values become the `ops` of
 * POST /api/v1/images, in a fixed order (as `taskwire images process`
 * applies its flags), checked with the same schema as the master.
 */
import { imageChain, type ImageOpInput } from '../../common/kinds/image.js';
import { CHAT_FILTERS, type ChainChoice, type ChatFilter } from './image-filters.js';

export { CHAT_FILTERS, type ChainChoice, type ChatFilter } from './image-filters.js';

const num = (v: string | undefined): number | undefined => (v === undefined || v.trim() === '' ? undefined : Number(v));

function op(name: ChatFilter, v: Record<string, string>): ImageOpInput {
  switch (name) {
    case 'resize':
      return { op: 'resize', width: num(v['width']), height: num(v['height']), fit: (v['fit'] || 'cover') as 'cover' };
    case 'rotate':
      return { op: 'rotate', angle: num(v['angle']) ?? 90 };
    case 'flip':
      return { op: 'flip', direction: (v['direction'] || 'vertical') as 'vertical' };
    case 'blur':
      return { op: 'blur', sigma: num(v['sigma']) ?? 2 };
    case 'sharpen':
      return { op: 'sharpen', sigma: num(v['sigma']) ?? 1 };
    case 'brightness':
    case 'contrast':
    case 'saturation':
      return { op: name, factor: num(v['factor']) ?? 1 };
    case 'grayscale':
      return { op: 'grayscale' };
    case 'edge':
      return { op: 'edge', kernel: (v['kernel'] || 'laplacian') as 'laplacian' };
  }
}

/** The ops, or a message naming what is wrong ("blur: sigma must be at least 0.3"). */
export function chainFromChoice(c: ChainChoice): { ok: true; ops: ImageOpInput[] } | { ok: false; message: string } {
  const ops: ImageOpInput[] = [];
  for (const name of CHAT_FILTERS) {
    const v = c.filters[name];
    if (v) ops.push(op(name, v));
  }
  if (c.format !== 'keep') ops.push({ op: 'format', format: c.format, ...(num(c.quality) !== undefined && { quality: num(c.quality) }) });
  if (ops.length === 0) return { ok: false, message: 'Pick at least one filter or an output format.' };
  const parsed = imageChain.safeParse(ops);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path[0];
    const which = typeof at === 'number' ? (ops[at]?.op ?? 'chain') : 'chain';
    const field = issue.path.slice(1).join('.');
    return { ok: false, message: `${which}${field ? ` ${field}` : ''}: ${issue.message}` };
  }
  return { ok: true, ops };
}

/** "resize 1920×1080 → blur 2 → webp" for the bubble's title. */
export function describeChain(ops: readonly ImageOpInput[]): string {
  return ops
    .map((o) => {
      switch (o.op) {
        case 'resize':
          return `resize ${o.width ?? ''}×${o.height ?? ''}`;
        case 'blur':
        case 'sharpen':
          return `${o.op} ${o.sigma ?? ''}`.trim();
        case 'brightness':
        case 'contrast':
        case 'saturation':
          return `${o.op} ${o.factor}`;
        case 'rotate':
          return `rotate ${o.angle}°`;
        case 'format':
          return o.format;
        default:
          return o.op;
      }
    })
    .join(' → ');
}
