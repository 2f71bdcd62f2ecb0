/**
 * What the kind selector shows and preselects (pure: no DOM, so it is tested
 * in Node): labels, placeholders, and the kind a first screen opens on.
 */
import { DIAGNOSTIC_KIND_NAMES } from '../../common/kind-names.js';

export const DIAGNOSTIC_KINDS: ReadonlySet<string> = new Set(DIAGNOSTIC_KIND_NAMES);

/** Own properties only: a kind named `constructor` or `toString` is just a name. */
export const own = (table: Readonly<Record<string, string>>, kind: string): string | undefined => (Object.hasOwn(table, kind) ? table[kind] : undefined);

export const KIND_LABELS: Readonly<Record<string, string>> = {
  echo: 'echo – diagnostic: repeats your text',
  sleep: 'sleep – diagnostic: waits',
  llm: 'llm – chat with a language model',
  ocr: 'ocr – read the text in an image',
  image: 'image – filter many images at once (resize, blur, …)',
  infer: 'infer – ONNX model inference (JSON)',
};

const PLACEHOLDERS: Readonly<Record<string, string>> = {
  echo: 'Text to echo back, word by word',
  sleep: 'How long to sleep, e.g. 1500, 250ms or 2s',
  llm: 'Ask the model anything',
  ocr: 'Optional note to go with the image',
  image: 'Pick images and build the chain of operations above, then Send',
  infer: 'KServe v2 request as JSON, e.g. {"model_name": "linear", "inputs": […]}',
};

export function placeholderFor(kind: string): string {
  return own(PLACEHOLDERS, kind) ?? `Input for ${kind} as JSON, e.g. {"key": "value"}`;
}

/** Kinds a first screen may open with, best first: each takes plain words or an image, never raw JSON. */
const FIRST_CHOICES = ['llm', 'ocr', 'echo'];

/**
 * The kind to preselect: the last one used if still served, else llm, ocr
 * or echo (so a first screen never opens on a raw-JSON kind such as infer),
 * else the first.
 */
export function preferredKind(kinds: readonly string[], previous: string | undefined): string | undefined {
  if (previous && kinds.includes(previous)) return previous;
  return FIRST_CHOICES.find((k) => kinds.includes(k)) ?? kinds[0];
}

