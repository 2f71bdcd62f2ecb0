/**
 * Streamed output on a running task's page, in a real Chromium: an llm task
 * (submitted from a chat session, so it streams) answered by a local
 * OpenAI-compatible provider that sends a token every 250 ms; on a master
 * with API keys, the dashboard's task page shows the tokens as they arrive
 * (GET /api/v1/tasks/:id/output with the key in the Authorization header,
 * never in a URL), a page opened mid-stream starts with the text so far,
 * and the final result replaces the output when the task ends. The stream
 * refuses a request without a key and answers `done` for an ended task.
 * Screenshots go to test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../../common/socket-events.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { buildWebIfMissing, WEB_DIR } from '../helpers/web-build.js';
import { startLlmCluster, waitForFinal, type LlmCluster } from '../e2e-llm/llm-cluster.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts');
const ADMIN_KEY = 'tw-output-admin-5c2e9a';
const WAIT_MS = 30_000;
/** The page's document, inside waitForFunction (this file is compiled without the DOM library). */
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null; textContent: string | null } | null };
const TOKENS = Array.from({ length: 32 }, (_, i) => `tok${i}`);

describe('dashboard: streamed output of a running task', () => {
  let llm: LlmCluster | undefined;
  let browser: TestBrowser | undefined;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;

  beforeAll(async () => {
    await buildWebIfMissing();
    llm = await startLlmCluster({
      provider: { answer: () => TOKENS.map((t) => `${t} `), tokenDelayMs: (m) => (m.some((x) => x.content.includes('slowly')) ? 250 : 0) },
      master: { webDir: WEB_DIR, apiKeys: [ADMIN_KEY] },
      processWorkers: 0,
    });
    browser = await launchBrowser({ actionTimeoutMs: WAIT_MS });
    socket = io(llm.httpUrl, { auth: { apiKey: ADMIN_KEY }, transports: ['websocket'], reconnection: false }) as Socket<ServerToClientEvents, ClientToServerEvents>;
    await new Promise<void>((resolve, reject) => (socket!.once('session', () => resolve()), socket!.once('connect_error', reject)));
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    socket?.disconnect();
    await browser?.close();
    await llm?.close();
  }, 60_000);

  async function submit(prompt: string): Promise<string> {
    const ack = await socket!.emitWithAck('task:submit', { kind: 'llm', input: { messages: [{ role: 'user', content: prompt }] } });
    if (!ack.ok) throw new Error(ack.error.message);
    return ack.data.id;
  }

  it('shows the tokens live with the key, then the final result replaces them', async () => {
    const { page, problems } = await browser!.newPage();
    const urls: string[] = [];
    const outputAuth: (string | undefined)[] = [];
    page.on('request', (r) => {
      urls.push(r.url());
      if (r.url().includes('/output')) outputAuth.push(r.headers()['authorization']);
    });
    await page.goto(`${llm!.httpUrl}/dashboard/#/workers`);
    await page.locator('#access-key').fill(ADMIN_KEY);
    await page.locator('#access-key').press('Enter');
    await page.locator('#stream-state[data-state="live"]').waitFor();

    const id = await submit('answer slowly please');
    await page.goto(`${llm!.httpUrl}/dashboard/#/tasks/${id}`);
    const out = page.locator('#task-output');
    await out.waitFor();
    // Tokens arrive while the task runs: the text grows, chunk by chunk.
    await page.waitForFunction(() => Number(document.querySelector('#task-output')?.getAttribute('data-chunks') ?? 0) >= 3, undefined, { timeout: WAIT_MS });
    const early = (await out.textContent()) ?? '';
    expect(early).toMatch(/^tok0 tok1 tok2 /);
    expect(await page.locator('#task').getAttribute('data-status')).toBe('running');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-task-streaming.png'), fullPage: true });
    await page.waitForFunction((n) => (document.querySelector('#task-output')?.textContent ?? '').length > n, early.length, { timeout: WAIT_MS });

    // A second page opened mid-stream starts with the text so far (the snapshot), then follows.
    const second = await browser!.newPage();
    await second.page.goto(`${llm!.httpUrl}/dashboard/#/tasks/${id}`);
    await second.page.locator('#access-key').fill(ADMIN_KEY);
    await second.page.locator('#access-key').press('Enter');
    await second.page.waitForFunction(() => /^tok0 tok1 tok2 tok3 /.test(document.querySelector('#task-output')?.textContent ?? ''), undefined, { timeout: WAIT_MS });
    await second.context.close();

    // The end: the output goes, the result shows the whole answer.
    await page.locator('#task[data-status="succeeded"]').waitFor({ timeout: WAIT_MS * 2 });
    await page.locator('[data-field="result"], #task .json').first().waitFor();
    await page.waitForFunction(() => document.querySelector('#task-output') === null, undefined, { timeout: WAIT_MS });
    const result = await page.locator('section', { hasText: 'Result' }).last().textContent();
    expect(result).toContain('tok31');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-task-streamed-result.png'), fullPage: true });

    expect(outputAuth.length).toBeGreaterThan(0);
    for (const a of outputAuth) expect(a).toBe(`Bearer ${ADMIN_KEY}`);
    expect(urls.filter((u) => u.includes(ADMIN_KEY))).toEqual([]);
    expect(problems.errors.filter((e) => !/401|403|Unauthorized|Forbidden/i.test(e))).toEqual([]);
    await page.context().close();
  }, 180_000);

  it('the output stream needs the key, and an ended task answers done at once', async () => {
    const id = await submit('quick one');
    await waitForFinal(llm!.httpUrl, id, ADMIN_KEY);
    expect((await fetch(`${llm!.httpUrl}/api/v1/tasks/${id}/output`)).status).toBe(401);
    const res = await fetch(`${llm!.httpUrl}/api/v1/tasks/${id}/output`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const body = await res.text(); // the stream ends after done
    expect(body).toMatch(/event: done\ndata: \{"status":"succeeded"\}/);
    expect((await fetch(`${llm!.httpUrl}/api/v1/tasks/nope/output`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).status).toBe(404);
  }, 60_000);
});
