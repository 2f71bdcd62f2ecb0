/**
 * Tool calls streamed in pieces (OpenAI's `delta.tool_calls[]`: the first
 * piece of call `index` has `id` and `function.name`, later ones append to
 * `function.arguments`) put back together into whole calls.
 */
import { MAX_LLM_MESSAGE_CHARS, MAX_LLM_TOOL_CALLS, type LlmToolCall } from '../../../common/kinds/llm.js';
import { TaskFailure } from '../task-handler.js';
import type { LlmToolCallDelta } from './llm-provider.js';

export class ToolCallAccumulator {
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  constructor(private readonly provider: string) {}

  add(d: LlmToolCallDelta): void {
    let call = this.calls.get(d.index);
    if (!call) {
      if (this.calls.size >= MAX_LLM_TOOL_CALLS) throw new TaskFailure('PROVIDER_ERROR', `${this.provider}: more than ${MAX_LLM_TOOL_CALLS} tool calls`);
      call = { id: '', name: '', arguments: '' };
      this.calls.set(d.index, call);
    }
    if (d.id) call.id = d.id;
    if (d.name) call.name += d.name;
    call.arguments += d.arguments;
    if (call.arguments.length > MAX_LLM_MESSAGE_CHARS) throw new TaskFailure('PROVIDER_ERROR', `${this.provider}: tool call arguments over ${MAX_LLM_MESSAGE_CHARS} characters`);
  }

  get size(): number {
    return this.calls.size;
  }

  /** The whole calls, in index order (a call without an id gets `call_<index>`). */
  result(): LlmToolCall[] {
    return [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ id: c.id || `call_${index}`, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
  }
}

/** The OpenAI wire form of one piece (what the gateway relays as `delta.tool_calls[]`). */
export function toolCallChunk(d: LlmToolCallDelta): Record<string, unknown> {
  const fn: Record<string, string> = { arguments: d.arguments };
  if (d.name) fn['name'] = d.name;
  const out: Record<string, unknown> = { index: d.index, function: fn };
  if (d.id) {
    out['id'] = d.id;
    out['type'] = 'function';
  }
  return out;
}
