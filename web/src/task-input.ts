/**
 * Turns what the user typed into the input of a task of the chosen kind:
 * echo `{text}` (plus `delay_ms` between streamed words), sleep `{ms}` parsed
 * from the message, llm `{messages: [...history, {role:'user', content}]}`,
 * ocr `{image}` from a chosen file, and any other kind a JSON object typed
 * by the user.
 */
import type { JsonValue } from '../../common/json-value.js';
import type { ChatMessage } from './conversation.js';

export const MAX_SLEEP_MS = 24 * 60 * 60 * 1000;
export const MAX_ECHO_DELAY_MS = 10_000;
/** The ocr kind's limit on the base64 image (a little under the MQTT payload limit). */
export const MAX_IMAGE_DATA_URL_CHARS = 3_800_000;
const IMAGE_DATA_URL = /^data:image\/(png|jpeg);base64,[A-Za-z0-9+/=]+$/;

export type BuiltInput = { ok: true; input: JsonValue } | { ok: false; message: string };

export interface InputContext {
  /** llm: earlier messages of this session's conversation. */
  history?: readonly ChatMessage[];
  /** echo: pause between streamed words; 0 or undefined sends none. */
  echoDelayMs?: number;
  /** ocr: the chosen image as a data URL. */
  imageDataUrl?: string;
  /** ocr: the most data URL characters the master takes (default MAX_IMAGE_DATA_URL_CHARS). */
  maxImageChars?: number;
}

export function buildTaskInput(kind: string, text: string, context: InputContext = {}): BuiltInput {
  switch (kind) {
    case 'echo':
      return buildEcho(text, context.echoDelayMs);
    case 'sleep': {
      const ms = parseSleepMs(text);
      if (ms === null) return { ok: false, message: 'Type how long to sleep, e.g. "1500", "250ms" or "2s" (from 0 to 24 h; not negative).' };
      return { ok: true, input: { ms } };
    }
    case 'llm': {
      if (text.trim() === '') return { ok: false, message: 'Type a message first.' };
      const messages: JsonValue[] = (context.history ?? []).map((m) => ({ role: m.role, content: m.content }));
      messages.push({ role: 'user', content: text });
      return { ok: true, input: { messages } };
    }
    case 'ocr':
      return buildOcr(context.imageDataUrl, context.maxImageChars ?? MAX_IMAGE_DATA_URL_CHARS);
    default:
      return parseJsonObject(kind, text);
  }
}

function buildEcho(text: string, delayMs: number | undefined): BuiltInput {
  if (text === '') return { ok: false, message: 'Type a message first.' };
  if (delayMs === undefined || delayMs === 0) return { ok: true, input: { text } };
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_ECHO_DELAY_MS) {
    return { ok: false, message: `The word delay must be a whole number of milliseconds from 0 to ${MAX_ECHO_DELAY_MS}.` };
  }
  return { ok: true, input: { text, delay_ms: delayMs } };
}

/**
 * A number, then a known unit or nothing word-like: "2 days" is not 2 ms,
 * and "300abc" is not 30 ms.
 */
function buildOcr(image: string | undefined, maxChars: number): BuiltInput {
  if (image === undefined) return { ok: false, message: 'Choose a PNG or JPEG image to read.' };
  if (!IMAGE_DATA_URL.test(image)) return { ok: false, message: 'The image must be a PNG or JPEG file.' };
  if (image.length > maxChars) return { ok: false, message: `The image is too large for this master (at most about ${Math.floor((maxChars * 3) / 4 / 1000)} KB).` };
  return { ok: true, input: { image } };
}

const DURATION =
  /(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])(?:\s*(ms|msec|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b|(?!\s*\p{L}))/iu;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The first duration in the message, in whole milliseconds: "1500" and
 * "1500ms" are 1500, "1.5s" and "sleep 1.5 seconds" are 1500, "2m" is 120000.
 * Null when there is none, its unit is unknown, or it is over a day.
 */
export function parseSleepMs(text: string): number | null {
  const match = DURATION.exec(text);
  if (!match) return null;
  // "-5s" is not 5 s: a duration cannot be negative.
  if (/[-\u2212]\s*$/.test(text.slice(0, match.index))) return null;
  const value = Number(match[1]);
  const unit = (match[2] ?? 'ms').toLowerCase();
  const key = unit.startsWith('ms') || unit.startsWith('milli') ? 'ms' : unit.charAt(0);
  const ms = Math.round(value * (UNIT_MS[key] ?? 1));
  return Number.isSafeInteger(ms) && ms <= MAX_SLEEP_MS ? ms : null;
}

function parseJsonObject(kind: string, text: string): BuiltInput {
  const hint = `Enter the ${kind} input as a JSON object, e.g. {"key": "value"}.`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: hint };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isJsonValue(value)) {
    return { ok: false, message: hint };
  }
  return { ok: true, input: value };
}

/** JSON.parse can still yield what the wire refuses: 1e999 is Infinity. */
function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (typeof value === 'object') return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  return false;
}
