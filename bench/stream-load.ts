/**
 * Streaming load client (a child process of stream-bench.ts, so its CPU is
 * not the master's): `node stream-load.js <mode> <url> <streams> <concurrency> <tokens>`,
 * mode `direct` / `gateway` (POST /chat/completions, SSE) or `socket`
 * (Socket.IO `task:submit` of an llm task, `task:chunk` until `task:done`).
 * Prints one JSON line: tokens received, seconds, TTFT of every stream (ms).
 * Each answer is checked: the words of the prompt, in order.
 */
import { io } from 'socket.io-client';

const [mode, url, streamsArg, concArg, tokensArg] = process.argv.slice(2) as [string, string, string, string, string];
const streams = Number(streamsArg);
const concurrency = Number(concArg);
const tokens = Number(tokensArg);
const MODEL = 'bench-model';
const prompt = Array.from({ length: tokens }, (_, i) => `w${i}`).join(' ');
const messages = [{ role: 'user', content: prompt }];

async function sse(i: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ model: MODEL, stream: true, messages }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`stream ${i}: HTTP ${res.status} ${await res.text()}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let ttft = -1;
  let text = '';
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const content = (JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content;
      if (content) {
        if (ttft < 0) ttft = performance.now() - t0;
        text += content;
      }
    }
  }
  if (text !== prompt) throw new Error(`stream ${i}: unexpected answer`);
  return ttft;
}

async function socketRun(): Promise<number[]> {
  const ttfts: number[] = [];
  // One browser session per concurrent stream (as many browsers would be).
  const sockets = await Promise.all(
    Array.from({ length: concurrency }, () => {
      const s = io(url, { transports: ['websocket'], reconnection: false });
      return new Promise<typeof s>((resolve, reject) => {
        s.once('session', () => resolve(s));
        s.once('connect_error', reject);
      });
    }),
  );
  let next = 0;
  await Promise.all(
    sockets.map(async (s) => {
      while (next < streams) {
        next++;
        const t0 = performance.now();
        let ttft = -1;
        let text = '';
        let attempt = 0;
        let lastSeq = 0;
        let id = '';
        await new Promise<void>((resolve, reject) => {
          // As the chat does (web/src/answer-view.ts): only this task, the newest attempt, no seq twice.
          const onChunk = (c: { id: string; attempt: number; seq: number; text: string }) => {
            if (id !== '' && c.id !== id) return;
            if (c.attempt < attempt) return;
            if (c.attempt > attempt) {
              attempt = c.attempt;
              lastSeq = 0;
              text = '';
            }
            if (c.seq <= lastSeq) return;
            lastSeq = c.seq;
            if (c.text === '') return;
            if (ttft < 0) ttft = performance.now() - t0;
            text += c.text;
          };
          const onDone = (t: { status: string }) => {
            s.off('task:chunk', onChunk);
            s.off('task:done', onDone);
            if (t.status !== 'succeeded') reject(new Error(`task ${t.status}`));
            else resolve();
          };
          s.on('task:chunk', onChunk);
          s.on('task:done', onDone);
          s.emit('task:submit', { kind: 'llm', input: { model: MODEL, messages } }, (ack: { ok: boolean; data?: { id: string } }) => {
            if (!ack.ok) reject(new Error('submit refused'));
            id = ack.data?.id ?? '';
          });
        });
        if (text !== prompt) throw new Error(`unexpected answer (attempt ${attempt}, ${text.length} of ${prompt.length} chars: ${JSON.stringify(text.slice(0, 60))})`);
        ttfts.push(ttft);
      }
    }),
  );
  for (const s of sockets) s.disconnect();
  return ttfts;
}

const t0 = performance.now();
let ttfts: number[];
if (mode === 'socket') ttfts = await socketRun();
else {
  ttfts = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < streams) ttfts.push(await sse(next++));
    }),
  );
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ tokens: ttfts.length * tokens, seconds, ttft_ms: ttfts })}\n`);
process.exit(0);
