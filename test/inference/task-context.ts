/** A TaskContext for calling a handler directly in tests. */
import { silentLogger } from '../../common/logger.js';
import type { JsonValue } from '../../common/json-value.js';
import type { TaskChunk, TaskContext } from '../../worker/handlers/task-handler.js';

let seq = 0;

export function taskContext(kind: string, input: JsonValue, signal = new AbortController().signal): TaskContext & { chunks: TaskChunk[] } {
  const chunks: TaskChunk[] = [];
  return {
    taskId: `t-${process.pid}-${++seq}`,
    stream: true,
    attempt: 1,
    kind,
    input,
    signal,
    deadlineMs: Date.now() + 60_000,
    log: silentLogger(),
    emit: (c) => chunks.push(c),
    secrets: async () => ({}),
    chunks,
  };
}
