/** The SSE parser: line ends, split reads, multi-line data, comments, limits. */
import { describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../../worker/handlers/llm/sse-reader.js';
import { TaskFailure } from '../../worker/handlers/task-handler.js';

function body(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(enc.encode(p));
      controller.close();
    },
  });
}

async function events(parts: string[], max?: number): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(body(parts), max)) out.push(e);
  return out;
}

describe('readSse', () => {
  it('parses LF, CRLF and CR line ends, including a CRLF split across reads', async () => {
    expect(await events(['data: a\n\ndata: b\r', '\n\r\ndata: c\r\rdata: d\n\n'])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
      { event: 'message', data: 'c' },
      { event: 'message', data: 'd' },
    ]);
  });

  it('joins multi-line data, keeps event names, ignores comments and unknown fields', async () => {
    expect(await events([': keep-alive\n\nevent: err\ndata: {"a":\ndata:1}\nid: 7\nretry: 5\n\n'])).toEqual([
      { event: 'err', data: '{"a":\n1}' },
    ]);
  });

  it('decodes UTF-8 split across reads', async () => {
    const enc = new TextEncoder().encode('data: héllo ✓\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of enc) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out: SseEvent[] = [];
    for await (const e of readSse(stream)) out.push(e);
    expect(out).toEqual([{ event: 'message', data: 'héllo ✓' }]);
  });

  it('dispatches a last event not followed by a blank line', async () => {
    expect(await events(['data: one\n\ndata: two'])).toEqual([
      { event: 'message', data: 'one' },
      { event: 'message', data: 'two' },
    ]);
  });

  it('rejects an event over the size limit with PROVIDER_ERROR', async () => {
    await expect(events([`data: ${'x'.repeat(100)}\n\n`], 50)).rejects.toMatchObject({ code: 'PROVIDER_ERROR' });
    await expect(events([`data: ${'x'.repeat(100)}`], 50)).rejects.toBeInstanceOf(TaskFailure);
  });

  it('cancels the body when the consumer stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('data: 1\n\ndata: 2\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const e of readSse(stream)) {
      expect(e.data).toBe('1');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
