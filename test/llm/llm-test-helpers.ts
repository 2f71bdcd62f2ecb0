/** Small helpers shared by the LLM tests. */
import { expect } from 'vitest';
import { TaskFailure } from '../../worker/handlers/task-handler.js';
import type { LlmStreamEvent } from '../../worker/handlers/llm/llm-provider.js';

/** Every event of a provider stream. */
export async function collect(it: AsyncIterable<LlmStreamEvent>): Promise<LlmStreamEvent[]> {
  const out: LlmStreamEvent[] = [];
  for await (const ev of it) out.push(ev);
  return out;
}

/** The TaskFailure a promise rejects with (fails the test if it resolves or throws something else). */
export async function failure(p: Promise<unknown>): Promise<TaskFailure> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TaskFailure);
    return err as TaskFailure;
  }
  throw new Error('expected a TaskFailure');
}
