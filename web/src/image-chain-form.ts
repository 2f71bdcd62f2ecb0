/**
 * The chain of image operations a user builds in the chat (pure: no DOM,
 * tested in Node): the steps, in the order the user put them, and their
 * values become the `ops` of POST /api/v1/images in exactly that order, the
 * output format last, checked with the same schema as the master.
 */
import { imageChain, type ImageOpInput } from '../../common/kinds/image.js';
import type { ChainChoice, ChatOp } from './image-filters.js';

export { CHAT_OPS, type ChainChoice, type ChainStep, type ChatOp } from './image-filters.js';

const num = (v: string | undefined): number | undefined => (v === undefined || v.trim() === '' ? undefined : Number(v));

function op(name: ChatOp, v: Record<string, string>): ImageOpInput {
  switch (name) {
    case 'resize':
      return { op: 'resize', width: num(v['width']), height: num(v['height']), fit: (v['fit'] || 'cover') as 'cover' };
    case 'crop':
      return { op: 'crop', left: num(v['left']) as number, top: num(v['top']) as number, width: num(v['width']) as number, height: num(v['height']) as number };
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

/** The ops, or a message naming the step and field that is wrong ("step 2 blur sigma: Number must be greater than or equal to 0.3"). */
export type ChainResult =
  | { ok: true; ops: ImageOpInput[] }
  /** `step` (0-based) and `field` when a step's field is wrong, so the form can point at it. */
  | { ok: false; message: string; step?: number; field?: string };

export function chainFromChoice(c: ChainChoice): ChainResult {
  const ops: ImageOpInput[] = c.steps.map((s) => op(s.op, s.values));
  if (c.format !== 'keep') ops.push({ op: 'format', format: c.format, ...(num(c.quality) !== undefined && { quality: num(c.quality) }) });
  if (ops.length === 0) return { ok: false, message: 'Add at least one operation or pick an output format.' };
  const parsed = imageChain.safeParse(ops);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path[0];
    // "step 2 blur sigma: ..." when the same operation may be in the chain twice.
    const which = typeof at === 'number' && ops[at] ? `${at < c.steps.length ? `step ${at + 1} ` : ''}${ops[at]!.op}` : 'chain';
    const field = issue.path.slice(1).join('.');
    const message = `${which}${field ? ` ${field}` : ''}: ${issue.message}`;
    return typeof at === 'number' && at < c.steps.length ? { ok: false, message, step: at, ...(field && { field }) } : { ok: false, message };
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
        case 'crop':
          return `crop ${o.width}×${o.height}+${o.left}+${o.top}`;
        case 'flip':
          return `flip ${o.direction ?? 'vertical'}`;
        case 'edge':
          return `edge ${o.kernel ?? 'laplacian'}`;
        case 'format':
          return o.format;
        default:
          return o.op;
      }
    })
    .join(' → ');
}
