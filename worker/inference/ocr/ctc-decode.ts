/**
 * Greedy CTC decoding of the PP-OCR recogniser's output [N, T, C]: argmax per
 * time step, drop blanks (index 0) and repeats, map index i to dictionary
 * entry i - 1 (the dictionary file plus a trailing space).
 */
export interface Decoded {
  text: string;
  /** Mean probability of the kept characters (0 if none). */
  confidence: number;
}

/** Reads ppocr_keys_v1.txt content into the character list the model indexes. */
export function parseDictionary(text: string): string[] {
  const chars = text.split(/\r?\n/);
  if (chars.length > 0 && chars[chars.length - 1] === '') chars.pop();
  chars.push(' ');
  return chars;
}

/** Decodes row `n` of a [N, T, C] probability tensor. */
export function ctcDecode(probs: Float32Array, t: number, c: number, n: number, dictionary: readonly string[]): Decoded {
  let text = '';
  let sum = 0;
  let kept = 0;
  let prev = -1;
  const base = n * t * c;
  for (let step = 0; step < t; step++) {
    const off = base + step * c;
    let best = 0;
    let bestP = probs[off]!;
    for (let k = 1; k < c; k++) {
      const p = probs[off + k]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== 0 && best !== prev) {
      text += dictionary[best - 1] ?? '';
      sum += bestP;
      kept++;
    }
    prev = best;
  }
  return { text, confidence: kept > 0 ? sum / kept : 0 };
}
