/**
 * The filters the chat offers for the `image` kind, in the order they are
 * applied, and what the form holds. No schema here: the chat loads the
 * chain check (image-chain-form.ts, with the master's zod schema) only when
 * a batch is sent, so the first page stays small.
 */
/** The filters the chat offers, in the order they are applied. */
export const CHAT_FILTERS = ['resize', 'rotate', 'flip', 'blur', 'sharpen', 'brightness', 'contrast', 'saturation', 'grayscale', 'edge'] as const;
export type ChatFilter = (typeof CHAT_FILTERS)[number];

export interface ChainChoice {
  /** The filters switched on, with their raw field values (strings as typed). */
  filters: Partial<Record<ChatFilter, Record<string, string>>>;
  /** `keep`: the input's format. */
  format: 'keep' | 'jpeg' | 'png' | 'webp' | 'avif';
  quality?: string;
}

