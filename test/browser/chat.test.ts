/**
 * End to end through a real browser: Debian Chromium (playwright-core) opens
 * the chat served by a real in-process master with in-process workers, sends
 * echo tasks over Socket.IO and checks what a user sees: the streamed answer,
 * its metadata, escaped text, and the loading indicator.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type PageProblems, type TestBrowser } from '../helpers/browser.js';
import { startCluster, waitForTask } from '../helpers/cluster.js';
import { startFakeServer, writeJson, writeSse, type FakeHttpServer } from '../llm/fake-http-server.js';
import { silentLogger } from '../../common/logger.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import type { TaskContext, TaskHandler, TaskOutput } from '../../worker/handlers/task-handler.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = join(REPO, 'dist', 'web');
const WEB_INDEX = join(WEB_DIR, 'index.html');
const ARTIFACTS = join(REPO, 'test-artifacts');
/**
 * Generous on purpose: the machine is shared and can be heavily loaded. These
 * bound a hang; they are not speed checks.
 */
const CASE_TIMEOUT_MS = 120_000;
const WAIT_MS = 30_000;

type Cluster = Awaited<ReturnType<typeof startCluster>>;

// The callbacks given to page.evaluate / waitForFunction run in the browser. The
// Node-side tsconfig has no DOM lib, so the few browser globals they use are
// declared here, scoped to this module.
interface PageElement {
  readonly textContent: string | null;
  readonly offsetParent: unknown;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  readonly documentElement: { readonly scrollWidth: number };
};
declare const localStorage: { getItem(key: string): string | null };
declare const MutationObserver: new (callback: () => void) => {
  observe(target: PageElement, options: { subtree?: boolean; childList?: boolean; characterData?: boolean; attributes?: boolean; attributeFilter?: string[] }): void;
};
/** The answer bubble as the page showed it after one change. */
interface AnswerSnapshot {
  shown: string;
  status: string;
  loadingVisible: boolean;
  stopVisible: boolean;
  busy: string;
}
declare const window: { readonly __xss?: unknown; __snapshots?: AnswerSnapshot[]; __states?: string[] };

interface TaskJson {
  id: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  worker_language: string | null;
}

describe('browser chat', () => {
  let cluster: Cluster | undefined;
  let browser: TestBrowser | undefined;
  let provider: FakeHttpServer | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!existsSync(WEB_INDEX)) {
      // `npm test` builds first (pretest); a direct `npx vitest run` may not have.
      const { build } = await import('vite');
      await build({ configFile: join(REPO, 'web', 'vite.config.ts'), logLevel: 'warn' });
    }
    // Serve the built chat explicitly (not whatever index.html the master would find first).
    cluster = await startCluster({ workers: 1, master: { webDir: WEB_DIR } });
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
  }, 120_000);

  afterEach(async () => {
    // Each case leaves no page (and so no Socket.IO client) behind for the next.
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
    await provider?.close();
  }, CASE_TIMEOUT_MS);

  async function openChat(
    viewport?: { width: number; height: number },
  ): Promise<{ page: Page; context: BrowserContext; problems: PageProblems }> {
    const { page, context, problems } = await browser!.newPage(viewport ? { viewport } : {});
    contexts.push(context);
    await page.goto(cluster!.httpUrl);
    await page.locator('#connection[data-state="connected"]').waitFor();
    // The kinds come with the `session` event; echo is always served.
    await page.locator('#kind option[value="echo"]').waitFor({ state: 'attached' });
    return { page, context, problems };
  }

  /** The answer text as the user sees it: it must be on screen, not only in the DOM. */
  async function shownAnswer(answer: Locator): Promise<string | null> {
    const text = answer.locator('.answer-text');
    expect(await text.isVisible()).toBe(true);
    return text.textContent();
  }

  async function sessionIdOf(page: Page): Promise<string> {
    return (await page.locator('#session-id').textContent())?.trim() ?? '';
  }

  /** Sockets of the master's Socket.IO server (one per open page). */
  function serverSockets() {
    return [...cluster!.master.sockets.io.sockets.sockets.values()];
  }

  /** Sends a message as a user would: pick the kind, type, press Enter. Returns the new answer bubble. */
  async function send(page: Page, kind: string, text: string): Promise<Locator> {
    const before = await page.locator('.turn--answer').count();
    await page.locator('#kind').selectOption(kind);
    await page.locator('#message').fill(text);
    await page.locator('#message').press('Enter');
    const answer = page.locator('.turn--answer').nth(before);
    await answer.waitFor();
    return answer;
  }

  async function fetchTask(id: string): Promise<TaskJson> {
    const response = await fetch(`${cluster!.httpUrl}/api/v1/tasks/${encodeURIComponent(id)}`);
    expect(response.status).toBe(200);
    return (await response.json()) as TaskJson;
  }

  it('connects with WebSocket first, not HTTP long-polling (one connection: stays on one master behind a non-sticky balancer)', async () => {
    const { problems } = await openChat();
    const sockets = serverSockets();
    expect(sockets.length).toBeGreaterThan(0);
    for (const s of sockets) expect(s.handshake.query.transport, 'the transport the session started on').toBe('websocket');
    expect(problems.errors).toEqual([]);
  });

  it('shows a streamed echo answer with its metadata, and user HTML as plain text', async () => {
    const { page, problems } = await openChat();

    // The session id from the `session` event is shown and kept in localStorage.
    const sessionId = await sessionIdOf(page);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{8,}$/);
    expect(await page.evaluate(() => localStorage.getItem('taskwire.session_id'))).toBe(sessionId);
    // echo and sleep are offered, labelled as diagnostics.
    expect(await page.locator('#kind option[value="echo"]').textContent()).toMatch(/diagnostic/i);
    expect(await page.locator('#kind option[value="sleep"]').textContent()).toMatch(/diagnostic/i);

    const text = 'Hi <img src=x onerror="window.__xss=1"> <b>bold</b> & <script>window.__xss=2</script> done';
    const answer = await send(page, 'echo', text);
    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    // One bubble: events that raced ahead of the submit ack went to it, not to a second one.
    expect(await page.locator('.turn--answer').count()).toBe(1);
    expect(await page.locator('.answer-origin').count()).toBe(0);

    // The answer is exactly the text, and nothing the user typed became markup.
    expect(await shownAnswer(answer)).toBe(text);
    expect(await page.locator('.turn--user .user-text').last().textContent()).toBe(text);
    expect(await page.locator('#chat-log img, #chat-log b, #chat-log script').count()).toBe(0);
    expect(await page.evaluate(() => window.__xss)).toBeUndefined();

    // Metadata from task:done agrees with what the master stored.
    const taskId = await answer.getAttribute('data-task-id');
    expect(taskId).toBeTruthy();
    const stored = await fetchTask(taskId!);
    expect(stored.status).toBe('succeeded');
    expect(stored.worker_id).toBeTruthy();
    expect(stored.worker_language).toBeTruthy();
    const meta = answer.locator('.answer-meta');
    expect(await meta.locator('[data-field="worker"] dd').textContent()).toBe(`${stored.worker_id} (${stored.worker_language})`);
    expect(await meta.locator('[data-field="attempt"] dd').textContent()).toBe(String(stored.attempt));
    expect(await meta.locator('[data-field="status"] dd').textContent()).toBe('Succeeded');
    expect(await meta.locator('[data-field="queue-wait"] dd').textContent()).toMatch(/\d.*(ms|s)$/);
    expect(await meta.locator('[data-field="processing"] dd').textContent()).toMatch(/\d.*(ms|s)$/);

    // Finished: no loading indicator, no stop button, the live region is no longer busy.
    expect(await answer.locator('.loading').count()).toBe(0);
    expect(await answer.locator('.stop-button').count()).toBe(0);
    expect(await answer.locator('.answer-text').getAttribute('aria-busy')).toBe('false');
    // The cluster bar shows the worker that answered.
    await page.locator('#cluster-bar [data-field="workers"]', { hasText: '1 worker online' }).waitFor();

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'chat.png') });
    expect(problems.errors).toEqual([]);
    expect(problems.failedRequests).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('shows an answer partially while its words stream in, then complete without the loading indicator (phone-sized screen)', async () => {
    const { page, problems } = await openChat({ width: 360, height: 720 });
    const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const text = words.join(' ');

    await page.locator('#kind').selectOption('echo');
    await page.locator('#echo-delay').fill('150');
    // Record the newest answer after every change the page makes (a MutationObserver
    // misses none, however slowly this machine runs the test).
    await page.evaluate(() => {
      const snapshots: AnswerSnapshot[] = [];
      window.__snapshots = snapshots;
      const log = document.querySelector('#chat-log')!;
      new MutationObserver(() => {
        const bubble = Array.from(document.querySelectorAll('.turn--answer')).at(-1);
        if (!bubble) return;
        const loading = bubble.querySelector('.loading');
        const stop = bubble.querySelector('.stop-button');
        snapshots.push({
          shown: bubble.querySelector('.answer-text')?.textContent ?? '',
          status: bubble.getAttribute('data-status') ?? '',
          // offsetParent is null for an element that is not rendered.
          loadingVisible: !!loading && loading.offsetParent !== null,
          stopVisible: !!stop && stop.offsetParent !== null,
          busy: bubble.querySelector('.answer-text')?.getAttribute('aria-busy') ?? '',
        });
      }).observe(log, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    const answer = await send(page, 'echo', text);

    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    const snapshots = (await page.evaluate(() => window.__snapshots)) ?? [];
    // The answer was shown while incomplete, growing word by word, with the
    // loading indicator and the stop button on screen.
    const partial = snapshots.filter((snap) => snap.shown !== '' && snap.shown !== text);
    expect(new Set(partial.map((snap) => snap.shown)).size).toBeGreaterThanOrEqual(2);
    for (const snap of partial) {
      expect(text.startsWith(snap.shown)).toBe(true);
      expect(['assigned', 'running']).toContain(snap.status);
      expect(snap).toMatchObject({ loadingVisible: true, stopVisible: true, busy: 'true' });
    }
    expect(await shownAnswer(answer)).toBe(text);
    expect(await answer.locator('.loading').count()).toBe(0);
    const taskId = await answer.getAttribute('data-task-id');
    expect((await fetchTask(taskId!)).status).toBe('succeeded');

    // Nothing sticks out sideways on a narrow screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'chat-narrow.png') });
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('stops a running task with the stop button', async () => {
    const { page, problems } = await openChat();
    const answer = await send(page, 'sleep', 'sleep for 2 minutes');
    // The message was parsed into the sleep input.
    expect(await page.locator('.turn--user .turn-meta').last().textContent()).toContain('{"ms":120000}');
    await answer.and(page.locator('[data-status="running"]')).waitFor();

    await answer.locator('.stop-button').click();
    await answer.and(page.locator('[data-status="cancelled"]')).waitFor();
    expect(await answer.locator('.answer-notice').textContent()).toMatch(/^Cancelled/);
    expect(await answer.locator('.answer-error').isVisible()).toBe(false);
    expect(await answer.locator('.loading').count()).toBe(0);
    expect((await fetchTask((await answer.getAttribute('data-task-id'))!)).status).toBe('cancelled');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('shows reconnecting and disconnected, keeps the session, and catches up on a task that ended meanwhile', async () => {
    const { page, problems } = await openChat();
    const sessionId = await sessionIdOf(page);

    // The session survives a reload (localStorage + handshake auth).
    await page.reload();
    await page.locator('#connection[data-state="connected"]').waitFor();
    expect(await sessionIdOf(page)).toBe(sessionId);

    // A dropped transport: the client retries by itself (every state shown is recorded).
    await page.evaluate(() => {
      const states: string[] = [];
      window.__states = states;
      const connection = document.querySelector('#connection')!;
      new MutationObserver(() => states.push(connection.getAttribute('data-state') ?? '')).observe(connection, {
        attributes: true,
        attributeFilter: ['data-state'],
      });
    });
    for (const socket of serverSockets()) socket.conn.close();
    await page.waitForFunction(() => window.__states?.at(-1) === 'connected' && window.__states.includes('reconnecting'));
    expect(await sessionIdOf(page)).toBe(sessionId);

    // The server ends the connection: the page says so and offers to reconnect.
    const answer = await send(page, 'sleep', '2 minutes');
    await answer.and(page.locator('[data-task-id]')).waitFor();
    const taskId = (await answer.getAttribute('data-task-id'))!;
    for (const socket of serverSockets()) socket.disconnect();
    await page.locator('#connection[data-state="disconnected"]').waitFor();
    expect(await page.locator('#send').isDisabled()).toBe(true);

    // The task ends (cancelled over REST) while the page is away: its task:done is lost for it.
    const cancel = await fetch(`${cluster!.httpUrl}/api/v1/tasks/${taskId}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    expect((await waitForTask(cluster!.httpUrl, taskId, WAIT_MS)).status).toBe('cancelled');
    expect(await answer.getAttribute('data-status')).not.toBe('cancelled');
    expect(await answer.locator('.loading').count()).toBe(1);

    await page.locator('#reconnect').click();
    await page.locator('#connection[data-state="connected"]').waitFor();
    expect(await page.locator('#reconnect').isVisible()).toBe(false);
    expect(await sessionIdOf(page)).toBe(sessionId);
    await answer.and(page.locator('[data-status="cancelled"]')).waitFor();
    expect(await answer.locator('.loading').count()).toBe(0);
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('shows a task sent from one tab in another tab of the same session', async () => {
    const { page: first, context } = await openChat();
    // Same browser profile, so the same stored session id.
    const second = await context.newPage();
    const secondErrors: string[] = [];
    second.on('pageerror', (error) => secondErrors.push(error.message));
    await second.goto(cluster!.httpUrl);
    await second.locator('#connection[data-state="connected"]').waitFor();
    expect(await sessionIdOf(second)).toBe(await sessionIdOf(first));

    const answer = await send(first, 'echo', 'seen in both tabs');
    await answer.and(first.locator('[data-status="succeeded"]')).waitFor();
    const taskId = (await answer.getAttribute('data-task-id'))!;

    const mirrored = second.locator(`.turn--answer[data-task-id="${taskId}"]`);
    await mirrored.and(second.locator('[data-status="succeeded"]')).waitFor();
    expect(await shownAnswer(mirrored)).toBe('seen in both tabs');
    expect(await mirrored.locator('.answer-origin').textContent()).toMatch(/another tab/);
    expect(secondErrors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('after a reload, shows the user their own questions again next to the replayed answers', async () => {
    const { page, problems } = await openChat();
    const answer = await send(page, 'echo', 'asked before the reload');
    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    const taskId = (await answer.getAttribute('data-task-id'))!;
    await page.reload();
    await page.locator('#connection[data-state="connected"]').waitFor();
    const replayed = page.locator(`.turn--answer[data-task-id="${taskId}"]`);
    await replayed.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(await replayed.locator('.answer-origin').textContent()).toBe('Sent before this page was reloaded.');
    // The question comes right before its answer.
    const question = page.locator(`.turn--answer[data-task-id="${taskId}"]`).locator('xpath=preceding-sibling::li[1]');
    expect(await question.getAttribute('class')).toContain('turn--user');
    expect(await question.locator('.user-text').textContent()).toBe('asked before the reload');
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('says so when, after a reconnect, the master no longer knows a task that was running', async () => {
    const { page, problems } = await openChat();
    const answer = await send(page, 'sleep', '2 minutes');
    await answer.and(page.locator('[data-task-id]')).waitFor();
    const taskId = (await answer.getAttribute('data-task-id'))!;

    // As after a master restart that lost its tasks: the catch-up lookup finds nothing.
    await page.route(`**/api/v1/tasks/${taskId}`, (route) =>
      route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such task' } }) }),
    );
    for (const socket of serverSockets()) socket.disconnect();
    await page.locator('#connection[data-state="disconnected"]').waitFor();
    await page.locator('#reconnect').click();
    await page.locator('#connection[data-state="connected"]').waitFor();

    await answer.and(page.locator('[data-status="failed"]')).waitFor();
    expect(await answer.locator('.answer-error .error-code').textContent()).toBe('LOST');
    expect(await answer.locator('.loading').count()).toBe(0);
    // The master still has it (only the page was told otherwise): stop it.
    await fetch(`${cluster!.httpUrl}/api/v1/tasks/${taskId}/cancel`, { method: 'POST' });
    // The 404 shows up as a console error of the page; anything else would be a problem.
    expect(problems.errors.filter((e) => !e.includes('404'))).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('sends the llm conversation history with each message, until a new conversation starts', async () => {
    // A local server speaking the OpenAI chat completions wire format (SSE stream).
    provider = await startFakeServer((req, res) => {
      if (req.method === 'GET' && req.path === '/v1/models') return writeJson(res, 200, { object: 'list', data: [{ id: 'fake-chat', object: 'model' }] });
      if (req.method !== 'POST' || req.path !== '/v1/chat/completions') return writeJson(res, 404, { error: { message: 'no route' } });
      const messages = (req.body as { messages: { role: string; content: string }[] }).messages;
      const last = messages.at(-1)?.content ?? '';
      const chunk = (content: string | null, finish: string | null = null) => ({
        id: 'chatcmpl-1',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'fake-chat',
        choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
      });
      writeSse(res, [
        chunk('You said '),
        chunk(`"${last}"`),
        chunk(` after ${messages.length - 1} messages.`),
        chunk(null, 'stop'),
        { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'fake-chat', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } },
        '[DONE]',
      ]);
    });
    const llm = await createLlmHandler({ OPENAI_BASE_URL: `${provider.url}/v1`, OPENAI_MODELS: 'fake-chat' }, silentLogger());
    expect(llm).toBeDefined();
    await cluster!.addWorker({}, { handlers: [llm!] });
    await cluster!.waitForWorkers(2, WAIT_MS);

    const { page, problems } = await openChat();
    // llm is offered (the cluster serves it now) and preselected.
    await page.locator('#kind option[value="llm"]').waitFor({ state: 'attached' });
    expect(await page.locator('#kind').inputValue()).toBe('llm');

    const first = await send(page, 'llm', 'Hello <there>');
    await first.and(page.locator('[data-status="succeeded"]')).waitFor();
    const firstAnswer = 'You said "Hello <there>" after 0 messages.';
    expect(await shownAnswer(first)).toBe(firstAnswer);
    expect(await first.locator('.answer-meta [data-field="tokens"] dd').textContent()).toBe('11 in, 7 out');
    expect(await first.locator('.answer-meta [data-field="model"] dd').textContent()).toBe('fake-chat (openai)');
    await page.locator('#new-conversation', { hasText: '1 turn' }).waitFor();

    const second = await send(page, 'llm', 'And again?');
    await second.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(await shownAnswer(second)).toBe('You said "And again?" after 2 messages.');
    const posts = () => provider!.requests.filter((r) => r.method === 'POST');
    expect((posts().at(-1)!.body as { messages: unknown }).messages).toEqual([
      { role: 'user', content: 'Hello <there>' },
      { role: 'assistant', content: firstAnswer },
      { role: 'user', content: 'And again?' },
    ]);

    await page.locator('#new-conversation').click();
    expect(await page.locator('#new-conversation').isVisible()).toBe(false);
    const third = await send(page, 'llm', 'Fresh start');
    await third.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect((posts().at(-1)!.body as { messages: unknown }).messages).toEqual([{ role: 'user', content: 'Fresh start' }]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'chat-llm.png') });
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);

  it('sends a chosen image to the ocr kind and shows the text read', async () => {
    // A stand-in for the PP-OCR handler (the real one needs the ONNX models): it
    // reports what it received, so the test sees the exact input the chat sent.
    const received: unknown[] = [];
    const ocr: TaskHandler = {
      kind: 'ocr',
      models: () => [{ kind: 'ocr', name: 'ppocr', versions: ['1'], ready: true, provider: 'onnxruntime', execution_provider: 'cpu' }],
      async run(ctx: TaskContext): Promise<TaskOutput> {
        received.push(ctx.input);
        return { output: { text: 'HELLO <OCR>', lines: [{ text: 'HELLO <OCR>', confidence: 0.99, box: [[0, 0], [4, 0], [4, 2], [0, 2]] }] } };
      },
    };
    const before = cluster!.workers.length;
    await cluster!.addWorker({}, { handlers: [ocr] });
    await cluster!.waitForWorkers(before + 1, WAIT_MS);

    const { page, problems } = await openChat();
    await page.locator('#kind option[value="ocr"]').waitFor({ state: 'attached' });
    await page.locator('#kind').selectOption('ocr');
    // Without an image the chat explains instead of sending.
    await page.locator('#send').click();
    expect(await page.locator('#composer-hint').textContent()).toMatch(/image/i);
    expect(await page.locator('.turn--answer').count()).toBe(0);

    // A 1x1 PNG.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    await page.locator('#image').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
    const answer = await send(page, 'ocr', 'what does it say?');
    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(await shownAnswer(answer)).toBe('HELLO <OCR>');
    expect(received).toEqual([{ image: `data:image/png;base64,${png.toString('base64')}` }]);
    expect(await page.locator('.turn--user .user-image').last().getAttribute('src')).toBe(`data:image/png;base64,${png.toString('base64')}`);
    // The file field is cleared for the next message.
    expect(await page.locator('#image').inputValue()).toBe('');

    // An image over the master's input limit (1 MiB by default, told in `session`) is refused by
    // the chat itself, saying so: no task, no dropped connection.
    const answers = await page.locator('.turn--answer').count();
    const big = Buffer.concat([png, Buffer.alloc(900_000, 7)]);
    await page.locator('#image').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: big });
    await page.locator('#message').fill('too big?');
    await page.locator('#send').click();
    expect(await page.locator('#composer-hint').textContent()).toMatch(/^The image is too large for this master: at most about (\d+ KB|[\d.]+ MB) \(its TASKWIRE_MAX_INPUT_BYTES\)\.$/);
    expect(await page.locator('.turn--answer').count()).toBe(answers);
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('connected');
    expect(received).toHaveLength(1);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'chat-ocr.png') });
    expect(problems.errors).toEqual([]);
  }, CASE_TIMEOUT_MS);
});
