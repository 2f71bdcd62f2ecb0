/** Input schemas of the diagnostic kinds every worker supports. */
import { z } from 'zod';

export const MAX_ECHO_TEXT = 1024 * 1024;
export const MAX_SLEEP_MS = 24 * 60 * 60 * 1000;

export const echoInput = z
  .object({
    text: z.string().max(MAX_ECHO_TEXT),
    /** Pause between streamed words (diagnostic of streaming in the UI). */
    delay_ms: z.number().int().min(0).max(10_000).optional(),
  })
  .strict();
export type EchoInput = z.infer<typeof echoInput>;

export const sleepInput = z.object({ ms: z.number().int().min(0).max(MAX_SLEEP_MS) }).strict();
export type SleepInput = z.infer<typeof sleepInput>;
