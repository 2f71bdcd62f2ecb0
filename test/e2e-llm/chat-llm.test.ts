/**
 * The chat with an LLM in Debian Chromium: a real in-process master serves
 * the built chat, an in-process worker's llm handler (built from env as the
 * CLI builds it) talks to a local OpenAI-compatible provider. The kind
 * selector offers `llm` once such a worker is online, tokens stream into the
 * answer, the stop button ends a long answer (task cancelled, provider
 * request aborted), and a follow-up question carries the conversation.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { createLlmHandler } from '../../worker/handlers/llm/create-llm-handler.js';
import { launchBrowser, type PageProblems, type TestBrowser } from '../helpers/browser.js';
import { startCluster, uniqueId, waitFor, type TestCluster } from '../helpers/cluster.js';
import { startFakeOpenAiProvider, type FakeOpenAiProvider } from '../llm/fake-openai-provider.js';
import { getTask, lastUser } from './llm-cluster.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = join(REPO, 'dist', 'web');
const ARTIFACTS = join(REPO, 'test-artifacts');

// Browser globals used inside page.waitForFunction callbacks (the Node tsconfig has no DOM lib).
interface PageElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<PageElement>; querySelector(selector: string): PageElement | null };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { subtree?: boolean; childList?: boolean; characterData?: boolean; attributes?: boolean }): void;
  disconnect(): void;
}

/** "story ..." prompts: a short answer, paced so it visibly streams. */
const STORY = 'Once upon a time a small worker answered every question it was given .';
/** "retry ..." prompts: cut once after 3 tokens (of FIRST_ATTEMPT), then answered in full (RETRY_ANSWER). */
const FIRST_ATTEMPT = 'My first try at this answer never got to its end .';
const RETRY_ANSWER = 'Second time lucky : this answer was cut off once and then retried in full .';
const cutPrompts = new Set<string>();
/** "markdown ..." prompts: an answer with Markdown, and markup that must stay text. */
const MARKDOWN = [
  'Here is **the plan** with `npm test`:',
  '',
  '- first <img src=x onerror="window.__pwned=1">',
  '- second',
  '',
  '```js',
  'document.body.innerHTML = "<b>no</b>";',
  '```',
].join('\n');
/** "long ..." prompts: far longer than any test waits for. */
const LONG_TOKENS = 400;

describe('chat with an llm worker (Chromium)', () => {
  let cluster: TestCluster | undefined;
  let browser: TestBrowser | undefined;
  let provider: FakeOpenAiProvider | undefined;
  let llmWorkerId = '';
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!existsSync(join(WEB_DIR, 'index.html'))) {
      // `npm test` builds first (pretest); a direct `npx vitest run` may not have.
      const { build } = await import('vite');
      await build({ configFile: join(REPO, 'web', 'vite.config.ts'), logLevel: 'warn' });
    }
    provider = await startFakeOpenAiProvider({
      models: ['fake-chat'],
      answer: (messages) => {
        const text = lastUser(messages);
        if (text.startsWith('story')) return STORY.split(/(?<=\s)/);
        if (text.startsWith('long')) return Array.from({ length: LONG_TOKENS }, (_, i) => `word${i} `);
        // A model answers differently each time: the cut first attempt says something else.
        if (text.startsWith('retry')) return (cutPrompts.has(text) ? RETRY_ANSWER : FIRST_ATTEMPT).split(/(?<=\s)/);
        if (text.startsWith('markdown')) return MARKDOWN.split(/(?<=\s)/);
        return text.split(/(?<=\s)/).filter((t) => t !== '');
      },
      tokenDelayMs: (messages) => {
        const text = lastUser(messages);
        return text.startsWith('story') || text.startsWith('long') || text.startsWith('retry') ? 100 : 0;
      },
      // "retry ..." prompts: the first stream is cut after 3 tokens (the task is retried as attempt 2).
      cutAfter: (messages) => {
        const text = lastUser(messages);
        if (!text.startsWith('retry') || cutPrompts.has(text)) return undefined;
        cutPrompts.add(text);
        return 3;
      },
    });
    // One echo/sleep worker only: no llm yet.
    cluster = await startCluster({ workers: 1, master: { webDir: WEB_DIR } });
    browser = await launchBrowser();
  }, 120_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
    await provider?.close();
  }, 60_000);

  async function openChat(): Promise<{ page: Page; problems: PageProblems }> {
    const { page, context, problems } = await browser!.newPage();
    contexts.push(context);
    await page.goto(cluster!.httpUrl);
    await page.locator('#connection[data-state="connected"]').waitFor();
    await page.locator('#kind option[value="echo"]').waitFor({ state: 'attached' });
    return { page, problems };
  }

  async function ask(page: Page, text: string): Promise<Locator> {
    const before = await page.locator('.turn--answer').count();
    await page.locator('#kind').selectOption('llm');
    await page.locator('#message').fill(text);
    await page.locator('#message').press('Enter');
    const answer = page.locator('.turn--answer').nth(before);
    await answer.waitFor();
    return answer;
  }

  const postsFor = (prefix: string) =>
    provider!.chatRequests().filter((r) => lastUser((r.body as { messages: { role: string; content: string }[] }).messages).startsWith(prefix));

  it('offers llm once an llm worker is online', async () => {
    const { page, problems } = await openChat();
    expect(await page.locator('#kind option[value="llm"]').count()).toBe(0);
    // The first screen says why there is no llm, and opens on a kind that takes words, not JSON.
    expect(await page.locator('#no-llm').isVisible()).toBe(true);
    expect(await page.locator('#no-llm').textContent()).toContain('OPENAI_BASE_URL');
    expect(await page.locator('#kind').inputValue()).toBe('echo');

    const llm = await createLlmHandler({ OPENAI_BASE_URL: provider!.url, TASKWIRE_OLLAMA_URL: 'off' }, silentLogger());
    expect(llm).toBeDefined();
    llmWorkerId = uniqueId('llm-chat');
    await cluster!.addWorker({ workerId: llmWorkerId, kinds: ['llm'] }, { handlers: [llm!] });
    await waitFor(() => cluster!.master.registry.schedulable().some((w) => w.id === llmWorkerId), 'the llm worker online');

    // No reload: the page refreshes its kinds from the periodic cluster summary.
    await page.locator('#kind option[value="llm"]').waitFor({ state: 'attached', timeout: 15_000 });
    expect(await page.locator('#kind option[value="llm"]').textContent()).toMatch(/language model/i);
    // llm is what a user most likely wants: preselected.
    expect(await page.locator('#kind').inputValue()).toBe('llm');
    expect(await page.locator('#no-llm').isVisible()).toBe(false);
    expect(problems.errors).toEqual([]);
  }, 60_000);

  it('streams the answer in, token by token', async () => {
    expect(llmWorkerId).not.toBe('');
    const { page, problems } = await openChat();
    const answer = await ask(page, 'story please');

    // Every state the answer passes through, recorded inside the page on each DOM change
    // (independent of frame timing on a busy machine).
    const seen = await page.evaluate(
      (full) =>
        new Promise<{ shown: string; status: string }[]>((resolve) => {
          const snapshots: { shown: string; status: string }[] = [];
          const observer = new MutationObserver(() => {
            const bubble = Array.from(document.querySelectorAll('.turn--answer')).at(-1);
            const shown = bubble?.querySelector('.answer-text')?.textContent ?? '';
            const status = bubble?.getAttribute('data-status') ?? '';
            snapshots.push({ shown, status });
            if (status === 'succeeded' || status === 'failed' || status === 'cancelled') {
              observer.disconnect();
              resolve(snapshots);
            }
          });
          observer.observe(document.querySelector('#chat-log')!, { subtree: true, childList: true, characterData: true, attributes: true });
          const bubble = Array.from(document.querySelectorAll('.turn--answer')).at(-1);
          if (bubble?.getAttribute('data-status') === 'succeeded') resolve([{ shown: full, status: 'succeeded' }]);
        }),
      STORY,
    );
    const partial = seen.filter((x) => x.shown !== '' && x.shown !== STORY);
    // Several partial states, each a prefix of the answer, while the task was running.
    expect(new Set(partial.map((x) => x.shown)).size).toBeGreaterThanOrEqual(3);
    for (const x of partial) {
      expect(STORY.startsWith(x.shown)).toBe(true);
      expect(x.status).toBe('running');
    }

    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(await answer.locator('.answer-text').textContent()).toBe(STORY);
    expect(await answer.locator('.answer-meta [data-field="model"] dd').textContent()).toBe('fake-chat (openai)');
    const words = STORY.split(/(?<=\s)/).length;
    expect(await answer.locator('.answer-meta [data-field="tokens"] dd').textContent()).toBe(`2 in, ${words} out`);
    const task = await getTask(cluster!.httpUrl, (await answer.getAttribute('data-task-id'))!);
    expect(task.status).toBe('succeeded');
    expect(task.worker_id).toBe(llmWorkerId);
    expect(task.timings.ttft_ms).toEqual(expect.any(Number));
    expect(await answer.locator('.answer-meta [data-field="ttft"] dd').textContent()).toMatch(/\d.*(ms|s)$/);
    expect(problems.errors).toEqual([]);
  }, 60_000);

  it('stops a long answer with the stop button: the task is cancelled and the provider request aborted', async () => {
    expect(llmWorkerId).not.toBe('');
    const { page, problems } = await openChat();
    const abortedBefore = provider!.abortedCount();
    const answer = await ask(page, 'long answer please');
    // Some tokens have arrived, the answer is running.
    await answer.locator('.answer-text', { hasText: 'word2 ' }).waitFor();
    await answer.and(page.locator('[data-status="running"]')).waitFor();

    await answer.locator('.stop-button').click();
    await answer.and(page.locator('[data-status="cancelled"]')).waitFor();
    expect(await answer.locator('.answer-notice').textContent()).toMatch(/^Cancelled/);
    expect(await answer.locator('.loading').count()).toBe(0);
    const shown = (await answer.locator('.answer-text').textContent()) ?? '';
    expect(shown.split(' ').length).toBeLessThan(LONG_TOKENS);

    const task = await getTask(cluster!.httpUrl, (await answer.getAttribute('data-task-id'))!);
    expect(task.status).toBe('cancelled');
    expect(task.attempt).toBe(1);
    // The worker closed its HTTP stream to the provider mid-answer.
    await waitFor(() => provider!.abortedCount() > abortedBefore, 'the provider to see its request aborted', 10_000);
    expect(postsFor('long answer please')).toHaveLength(1);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'chat-llm-stopped.png') });
    expect(problems.errors).toEqual([]);
  }, 60_000);

  it("sends a user's own pasted key with their question only, and never shows it again", async () => {
    expect(llmWorkerId).not.toBe('');
    const { page, problems } = await openChat();
    await page.locator('#kind').selectOption('llm');
    await page.locator('#api-key').fill('sk-user-pasted-12345');
    const answer = await ask(page, 'keyed question');
    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    const posts = postsFor('keyed question');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.headers['authorization']).toBe('Bearer sk-user-pasted-12345');
    expect(await page.locator('body').innerText()).not.toContain('sk-user-pasted-12345');
    expect(problems.errors).toEqual([]);
  }, 60_000);

  it('a retried answer starts over: text of two attempts never shows glued together', async () => {
    expect(llmWorkerId).not.toBe('');
    // A second llm worker, so the retry has somewhere to go.
    const llm = await createLlmHandler({ OPENAI_BASE_URL: provider!.url, TASKWIRE_OLLAMA_URL: 'off' }, silentLogger());
    const second = uniqueId('llm-chat-2');
    await cluster!.addWorker({ workerId: second, kinds: ['llm'] }, { handlers: [llm!] });
    await waitFor(() => cluster!.master.registry.schedulable().some((w) => w.id === second), 'the second llm worker online');
    const { page, problems } = await openChat();
    const answer = await ask(page, 'retry please');
    const seen = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) => {
          const shown: string[] = [];
          const observer = new MutationObserver(() => {
            const bubble = Array.from(document.querySelectorAll('.turn--answer')).at(-1);
            shown.push(bubble?.querySelector('.answer-text')?.textContent ?? '');
            const status = bubble?.getAttribute('data-status') ?? '';
            if (status === 'succeeded' || status === 'failed' || status === 'cancelled') {
              observer.disconnect();
              resolve(shown);
            }
          });
          observer.observe(document.querySelector('#chat-log')!, { subtree: true, childList: true, characterData: true, attributes: true });
        }),
    );
    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(await answer.locator('.answer-text').textContent()).toBe(RETRY_ANSWER);
    const task = await getTask(cluster!.httpUrl, (await answer.getAttribute('data-task-id'))!);
    expect(task.attempt).toBe(2);
    // Attempt 1's words were shown, then the answer started over: every state is a prefix of one
    // attempt's text, and once attempt 2's text shows, attempt 1's never comes back.
    expect(seen).toContain('My first try ');
    let onSecond = false;
    for (const shown of seen) {
      const ofFirst = FIRST_ATTEMPT.startsWith(shown);
      const ofSecond = RETRY_ANSWER.startsWith(shown);
      expect(ofFirst || ofSecond, JSON.stringify(shown)).toBe(true);
      if (shown !== '' && ofSecond) onSecond = true;
      if (onSecond) expect(ofSecond, JSON.stringify(shown)).toBe(true);
    }
    expect(onSecond).toBe(true);
    expect(problems.errors).toEqual([]);
  }, 60_000);

  it('renders a finished answer as Markdown (lists, code), every character of it as text', async () => {
    expect(llmWorkerId).not.toBe('');
    const { page, problems } = await openChat();
    const answer = await ask(page, 'markdown please');
    await answer.and(page.locator('[data-status="succeeded"]')).waitFor();
    const text = answer.locator('.answer-text.md');
    expect(await text.locator('p strong').textContent()).toBe('the plan');
    expect(await text.locator('p code').textContent()).toBe('npm test');
    expect(await text.locator('ul > li').allTextContents()).toEqual(['first <img src=x onerror="window.__pwned=1">', 'second']);
    expect(await text.locator('pre.md-code[data-lang="js"] code').textContent()).toBe('document.body.innerHTML = "<b>no</b>";');
    expect(await answer.locator('img, b, script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    mkdirSync(ARTIFACTS, { recursive: true });
    await answer.screenshot({ path: join(ARTIFACTS, 'chat-llm-markdown.png') });
    expect(problems.errors).toEqual([]);
  }, 60_000);

  it('sends the conversation so far with a second question', async () => {
    expect(llmWorkerId).not.toBe('');
    const { page, problems } = await openChat();
    const first = await ask(page, 'what is taskwire?');
    await first.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(await first.locator('.answer-text').textContent()).toBe('what is taskwire?');
    expect(postsFor('what is taskwire?').map((r) => (r.body as { messages: unknown }).messages)).toEqual([
      [{ role: 'user', content: 'what is taskwire?' }],
    ]);

    const second = await ask(page, 'and who runs it?');
    await second.and(page.locator('[data-status="succeeded"]')).waitFor();
    expect(postsFor('and who runs it?').map((r) => (r.body as { messages: unknown }).messages)).toEqual([
      [
        { role: 'user', content: 'what is taskwire?' },
        { role: 'assistant', content: 'what is taskwire?' },
        { role: 'user', content: 'and who runs it?' },
      ],
    ]);
    expect(problems.errors).toEqual([]);
  }, 60_000);
});
