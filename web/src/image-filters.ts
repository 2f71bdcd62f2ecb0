/**
 * The operations the chat offers for the `image` kind, their fields, and
 * what the form holds: an ordered list of steps the user builds (add, set,
 * move up/down, remove), applied in that order, then the output format
 * (always last: the master refuses `format` anywhere else). No schema here:
 * the chat loads the chain check (image-chain-form.ts, with the master's zod
 * schema) only when a batch is sent, so the first page stays small. The
 * lists below are checked against that schema in test/unit/image-chain-form.test.ts.
 */
/** Every operation of the `image` kind but `format` (the Output format field), in the Add menu's order. */
export const CHAT_OPS = ['resize', 'crop', 'rotate', 'flip', 'blur', 'sharpen', 'brightness', 'contrast', 'saturation', 'grayscale', 'edge'] as const;
export type ChatOp = (typeof CHAT_OPS)[number];

export const RESIZE_FIT_CHOICES = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export const FLIP_CHOICES = ['vertical', 'horizontal', 'both'] as const;
export const EDGE_KERNEL_CHOICES = ['laplacian', 'sobel_x', 'sobel_y'] as const;
export const OUTPUT_FORMATS = ['keep', 'jpeg', 'png', 'webp', 'avif'] as const;

/** One field of an operation: a number input (with its attributes) or a choice. */
export interface OpField {
  name: string;
  /** The short visible label ("W", "σ"). */
  label: string;
  /** The value a new step starts with. */
  value: string;
  /** A number input's attributes (min, max, step). */
  number?: Record<string, string>;
  /** A select's options. */
  choices?: readonly string[];
}

const side = { min: '1', max: '16384' };
const factor = (value: string): OpField[] => [{ name: 'factor', label: '×', value, number: { min: '0', max: '10', step: '0.1' } }];

export const OP_FIELDS: Record<ChatOp, readonly OpField[]> = {
  resize: [
    { name: 'width', label: 'W', value: '800', number: side },
    { name: 'height', label: 'H', value: '600', number: side },
    { name: 'fit', label: 'fit', value: 'cover', choices: RESIZE_FIT_CHOICES },
  ],
  crop: [
    { name: 'left', label: 'x', value: '0', number: { min: '0' } },
    { name: 'top', label: 'y', value: '0', number: { min: '0' } },
    { name: 'width', label: 'W', value: '100', number: side },
    { name: 'height', label: 'H', value: '100', number: side },
  ],
  rotate: [{ name: 'angle', label: '°', value: '90', number: { min: '-360', max: '360' } }],
  flip: [{ name: 'direction', label: 'direction', value: 'vertical', choices: FLIP_CHOICES }],
  blur: [{ name: 'sigma', label: 'σ', value: '2', number: { min: '0.3', max: '1000', step: '0.1' } }],
  sharpen: [{ name: 'sigma', label: 'σ', value: '1', number: { min: '0.01', max: '10', step: '0.1' } }],
  brightness: factor('1.2'),
  contrast: factor('1.2'),
  saturation: factor('1.5'),
  grayscale: [],
  edge: [{ name: 'kernel', label: 'kernel', value: 'laplacian', choices: EDGE_KERNEL_CHOICES }],
};

/** The steps a new composer starts with. */
export const DEFAULT_STEPS: readonly ChatOp[] = ['resize', 'blur'];

export interface ChainStep {
  op: ChatOp;
  /** The raw field values (strings as typed). */
  values: Record<string, string>;
}

export interface ChainChoice {
  /** The steps in the order the user put them: the order they are applied. */
  steps: ChainStep[];
  /** `keep`: the input's format. */
  format: (typeof OUTPUT_FORMATS)[number];
  quality?: string;
}

/** A new step with its fields' starting values. */
export function newStep(op: ChatOp): ChainStep {
  return { op, values: Object.fromEntries(OP_FIELDS[op].map((f) => [f.name, f.value])) };
}
