/**
 * Unit tests for the browser chat's pure logic (no DOM): task input per kind,
 * the llm conversation, parsing what the master sends, and formatting.
 */
import { describe, expect, it } from 'vitest';
import { Conversation, MAX_HISTORY_MESSAGES } from '../../web/src/conversation.js';
import { formatMs } from '../../web/src/format.js';
import { chunkInfo, parseAck, resultText, taskInfo } from '../../web/src/server-events.js';
import { buildTaskInput, parseSleepMs } from '../../web/src/task-input.js';

describe('parseSleepMs', () => {
  it.each([
    ['1500', 1500],
    ['250ms', 250],
    ['1.5s', 1500],
    ['sleep 2 seconds please', 2000],
    ['2m', 120_000],
    ['1 min', 60_000],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseSleepMs(text)).toBe(ms);
  });

  it.each(['', 'soon', '25h', '2 days', '300abc', '9999999999999999999999', '-5s', '-1500', 'sleep - 2s', '\u22125s'])('refuses %j', (text) => {
    expect(parseSleepMs(text)).toBeNull();
  });
});

describe('buildTaskInput', () => {
  it('echo sends the text as typed, with delay_ms only when set', () => {
    expect(buildTaskInput('echo', ' a <b>c</b> ')).toEqual({ ok: true, input: { text: ' a <b>c</b> ' } });
    expect(buildTaskInput('echo', 'hi', { echoDelayMs: 0 })).toEqual({ ok: true, input: { text: 'hi' } });
    expect(buildTaskInput('echo', 'hi', { echoDelayMs: 120 })).toEqual({ ok: true, input: { text: 'hi', delay_ms: 120 } });
    expect(buildTaskInput('echo', 'hi', { echoDelayMs: 1.5 }).ok).toBe(false);
    expect(buildTaskInput('echo', 'hi', { echoDelayMs: 10_001 }).ok).toBe(false);
    expect(buildTaskInput('echo', '').ok).toBe(false);
  });

  it('sleep sends {ms} parsed from the message, or explains the format', () => {
    expect(buildTaskInput('sleep', 'wait 2s')).toEqual({ ok: true, input: { ms: 2000 } });
    const bad = buildTaskInput('sleep', 'a while');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/2s/);
  });

  it('llm sends the history followed by the new user message', () => {
    const conversation = new Conversation();
    conversation.addExchange('Hi', 'Hello!');
    const built = buildTaskInput('llm', 'And now?', { history: conversation.messages });
    expect(built).toEqual({
      ok: true,
      input: {
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'And now?' },
        ],
      },
    });
    expect(buildTaskInput('llm', '   ').ok).toBe(false);
  });

  it('ocr sends the chosen PNG or JPEG as a data URL', () => {
    const png = `data:image/png;base64,${'A'.repeat(40)}`;
    expect(buildTaskInput('ocr', 'a note', { imageDataUrl: png })).toEqual({ ok: true, input: { image: png } });
    expect(buildTaskInput('ocr', 'no image').ok).toBe(false);
    expect(buildTaskInput('ocr', '', { imageDataUrl: 'data:image/gif;base64,R0lGOD' }).ok).toBe(false);
    expect(buildTaskInput('ocr', '', { imageDataUrl: `data:image/jpeg;base64,${'A'.repeat(4_000_000)}` }).ok).toBe(false);
  });

  it('other kinds take a JSON object', () => {
    expect(buildTaskInput('infer', '{"model_name": "m"}')).toEqual({ ok: true, input: { model_name: 'm' } });
    expect(buildTaskInput('custom', 'not json').ok).toBe(false);
    expect(buildTaskInput('custom', '[1]').ok).toBe(false);
    expect(buildTaskInput('custom', '{"n": 1e999}').ok).toBe(false);
  });
});

describe('Conversation', () => {
  it('keeps whole exchanges and drops the oldest past the limit', () => {
    const conversation = new Conversation();
    for (let i = 0; i < MAX_HISTORY_MESSAGES; i++) conversation.addExchange(`q${i}`, `a${i}`);
    expect(conversation.messages).toHaveLength(MAX_HISTORY_MESSAGES);
    expect(conversation.messages[0]).toEqual({ role: 'user', content: `q${MAX_HISTORY_MESSAGES / 2}` });
    expect(conversation.messages.at(-1)).toEqual({ role: 'assistant', content: `a${MAX_HISTORY_MESSAGES - 1}` });
    conversation.clear();
    expect(conversation.turns).toBe(0);
  });
});

describe('server events', () => {
  const task = {
    id: 't1',
    kind: 'echo',
    status: 'succeeded',
    priority: 0,
    attempt: 1,
    worker_id: 'w1',
    worker_language: 'typescript',
    created_at: '2026-01-01T00:00:00.000Z',
    finished_at: null,
    result: { text: 'hi' },
    error: null,
    timings: { queue_wait_ms: 1, processing_ms: 2, total_ms: 3, ttft_ms: null },
    usage: null,
    history: [],
  };

  it('accepts a TaskView and rejects a malformed one', () => {
    expect(taskInfo.safeParse(task).success).toBe(true);
    expect(taskInfo.safeParse({ ...task, attempt: '1' }).success).toBe(false);
    expect(chunkInfo.safeParse({ id: 't1', seq: 0, text: 'a', data: null }).success).toBe(true);
    expect(chunkInfo.safeParse({ id: 't1', seq: 0 }).success).toBe(false);
  });

  it('parses acks, with a readable error for anything unexpected', () => {
    expect(parseAck(taskInfo, { ok: true, data: task })).toMatchObject({ ok: true, data: { id: 't1' } });
    expect(parseAck(taskInfo, { ok: false, error: { code: 'BAD_REQUEST', message: 'input.text: required' } })).toEqual({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'input.text: required' },
    });
    expect(parseAck(taskInfo, 'nonsense')).toMatchObject({ ok: false, error: { code: 'PROTOCOL' } });
    expect(parseAck(taskInfo, { ok: true, data: { id: 1 } })).toMatchObject({ ok: false, error: { code: 'PROTOCOL' } });
  });

  it('finds the text of a result', () => {
    expect(resultText('plain')).toBe('plain');
    expect(resultText({ text: 'echoed' })).toBe('echoed');
    expect(resultText({ content: 'llm answer' })).toBe('llm answer');
    expect(resultText({ boxes: [] })).toBeNull();
    expect(resultText(null)).toBeNull();
  });
});

describe('formatMs', () => {
  it.each([
    [null, '–'],
    [0.42, '0.4 ms'],
    [12.4, '12 ms'],
    [1234, '1.23 s'],
    [12_345, '12.3 s'],
    [125_000, '2 min 5 s'],
  ])('%s → %s', (ms, text) => {
    expect(formatMs(ms)).toBe(text);
  });
});

describe('parseMarkdown (llm answers)', () => {
  it('reads fenced code, headings, lists, paragraphs and inline marks', async () => {
    const { parseMarkdown } = await import('../../web/src/markdown.js');
    const md = ['# Title', 'Some **bold** and `code` and *it* with [a link](https://example.com/x).', '', '- one', '- two', '', '3. c', '4. d', '```ts', 'const a = "<b>";', '```', 'tail'].join('\n');
    expect(parseMarkdown(md)).toEqual([
      { type: 'heading', level: 1, inlines: [{ type: 'text', text: 'Title' }] },
      {
        type: 'p',
        inlines: [
          { type: 'text', text: 'Some ' },
          { type: 'strong', text: 'bold' },
          { type: 'text', text: ' and ' },
          { type: 'code', text: 'code' },
          { type: 'text', text: ' and ' },
          { type: 'em', text: 'it' },
          { type: 'text', text: ' with ' },
          { type: 'link', text: 'a link', href: 'https://example.com/x' },
          { type: 'text', text: '.' },
        ],
      },
      { type: 'ul', items: [[{ type: 'text', text: 'one' }], [{ type: 'text', text: 'two' }]] },
      { type: 'ol', start: 3, items: [[{ type: 'text', text: 'c' }], [{ type: 'text', text: 'd' }]] },
      { type: 'code', lang: 'ts', text: 'const a = "<b>";' },
      { type: 'p', inlines: [{ type: 'text', text: 'tail' }] },
    ]);
  });

  it('keeps markup as text and links only http(s)', async () => {
    const { parseInline } = await import('../../web/src/markdown.js');
    expect(parseInline('<img src=x onerror=alert(1)> [x](javascript:alert(1)) 2*3*4')).toEqual([
      { type: 'text', text: '<img src=x onerror=alert(1)> [x](javascript:alert(1)) 2*3*4' },
    ]);
  });
});

describe('preferredKind (the first screen)', () => {
  it('opens on llm, else ocr, else echo: never on a raw-JSON kind such as infer', async () => {
    const { preferredKind, placeholderFor } = await import('../../web/src/kind-choice.js');
    expect(preferredKind(['echo', 'infer', 'llm', 'sleep'], undefined)).toBe('llm');
    expect(preferredKind(['echo', 'infer', 'ocr', 'sleep'], undefined)).toBe('ocr');
    expect(preferredKind(['echo', 'image', 'infer', 'sleep'], undefined)).toBe('echo');
    expect(preferredKind(['infer'], undefined)).toBe('infer');
    expect(preferredKind(['echo', 'infer'], 'infer')).toBe('infer');
    // Short enough for the composer (the old one was cut off).
    expect(placeholderFor('infer').length).toBeLessThanOrEqual(80);
  });
});
