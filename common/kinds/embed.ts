/**
 * The `embed` task kind: texts turned into embedding vectors by a provider
 * that has an embeddings API (OpenAI-compatible `/embeddings`, Gemini
 * `batchEmbedContents`, Ollama). `model` (when given) restricts scheduling to
 * workers advertising it as an `embed` model.
 */
import { z } from 'zod';
import { llmModel, llmModelName } from './llm.js';

export const MAX_EMBED_INPUTS = 2048;
/** Characters of one text. */
export const MAX_EMBED_INPUT_CHARS = 64 * 1024;
/** Characters over all texts (keeps an assignment well under the MQTT payload limit). */
export const MAX_EMBED_TOTAL_CHARS = 1024 * 1024;

export const embedInput = z
  .object({
    input: z
      .array(z.string().min(1, 'an empty text has no embedding').max(MAX_EMBED_INPUT_CHARS))
      .min(1)
      .max(MAX_EMBED_INPUTS)
      .refine((xs) => xs.reduce((n, x) => n + x.length, 0) <= MAX_EMBED_TOTAL_CHARS, { message: `texts hold more than ${MAX_EMBED_TOTAL_CHARS} characters in total` }),
    model: llmModelName.optional(),
    /** Length of each vector, for models that can shorten theirs. */
    dimensions: z.number().int().min(1).max(65_536).optional(),
    user: z.string().min(1).max(256).optional(),
  })
  .strict();
export type EmbedInput = z.infer<typeof embedInput>;

/** A worker's result: one vector per text, in input order. */
export const embedOutput = z
  .object({ embeddings: z.array(z.array(z.number())), model: z.string(), provider: z.string() })
  .passthrough();
export type EmbedOutput = z.infer<typeof embedOutput>;

/** Register as KIND_SPECS.embed in common/task-kinds.ts (structurally a KindSpec). */
export const embedKind = {
  description: 'Embedding vectors of texts (OpenAI-compatible, Gemini, Ollama)',
  diagnostic: false,
  input: embedInput,
  model: llmModel,
} as const;
