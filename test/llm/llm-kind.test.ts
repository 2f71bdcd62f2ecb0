/** The `llm` kind's input schema and scheduling model. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { llmInput, llmKind, llmModel, MAX_LLM_MESSAGES, MAX_LLM_TOTAL_CHARS } from '../../common/kinds/llm.js';
import type { KindSpec } from '../../common/task-kinds.js';

const ok = { messages: [{ role: 'user', content: 'hi' }] };

describe('llm kind', () => {
  it('is a KindSpec', () => {
    expectTypeOf(llmKind).toExtend<KindSpec>();
    expect(llmKind.diagnostic).toBe(false);
  });

  it('accepts a full request', () => {
    const input = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'again' },
      ],
      model: 'llama3.2:latest',
      provider: 'ollama',
      temperature: 0.7,
      top_p: 1,
      max_tokens: 100,
      stop: ['\n'],
    };
    expect(llmInput.parse(input)).toEqual(input);
  });

  it.each([
    ['no messages', { messages: [] }],
    ['only system messages', { messages: [{ role: 'system', content: 'x' }] }],
    ['a tool role', { messages: [{ role: 'tool', content: 'x' }] }],
    ['too many messages', { messages: Array.from({ length: MAX_LLM_MESSAGES + 1 }, () => ({ role: 'user', content: 'x' })) }],
    ['too much text', { messages: Array.from({ length: 5 }, () => ({ role: 'user', content: 'x'.repeat(MAX_LLM_TOTAL_CHARS / 4) })) }],
    ['an unknown provider', { ...ok, provider: 'claude' }],
    ['a bad model name', { ...ok, model: 'a b' }],
    ['temperature > 2', { ...ok, temperature: 3 }],
    ['top_p > 1', { ...ok, top_p: 1.5 }],
    ['max_tokens 0', { ...ok, max_tokens: 0 }],
    ['five stop strings', { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }],
    ['unknown fields', { ...ok, stream: true }],
  ])('rejects %s', (_what, input) => {
    expect(llmInput.safeParse(input).success).toBe(false);
  });

  it('model() returns the requested model only', () => {
    expect(llmModel({ ...ok, model: 'gpt-4o-mini' })).toBe('gpt-4o-mini');
    expect(llmModel(ok)).toBeUndefined();
    expect(llmModel(null)).toBeUndefined();
    expect(llmKind.model({ ...ok, model: 'm' })).toBe('m');
  });
});
