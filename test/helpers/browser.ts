/**
 * Launches Debian's Chromium headless through playwright-core (no browser
 * download) and collects what a page reports: uncaught errors, console
 * errors and failed requests, so a test can assert the page ran cleanly.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env['TASKWIRE_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
] as const;

export interface BrowserOptions {
  /** Viewport of new pages; defaults to a laptop-sized window. */
  viewport?: { width: number; height: number };
  /** Per-action timeout of playwright calls (click, waitFor...). */
  actionTimeoutMs?: number;
}

export const DEFAULTS: Required<BrowserOptions> = {
  viewport: { width: 1100, height: 760 },
  actionTimeoutMs: 15_000,
};

export interface PageProblems {
  /** Uncaught exceptions and console.error lines, in order. */
  errors: string[];
  /** Requests that failed at the network level (not HTTP errors). */
  failedRequests: string[];
}

export interface TestBrowser {
  readonly browser: Browser;
  /** A new isolated context (own localStorage) and page, with problem collection. */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<{ page: Page; context: BrowserContext; problems: PageProblems }>;
  /** Closes every context and the browser; safe to call more than once. */
  close(): Promise<void>;
}

export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  const resolved = { ...DEFAULTS, ...options };
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium or set TASKWIRE_CHROMIUM`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  });
  const contexts = new Set<BrowserContext>();
  let closing: Promise<void> | undefined;

  return {
    browser,
    async newPage(pageOptions = {}) {
      const context = await browser.newContext({ viewport: pageOptions.viewport ?? resolved.viewport });
      contexts.add(context);
      context.setDefaultTimeout(resolved.actionTimeoutMs);
      const page = await context.newPage();
      const problems: PageProblems = { errors: [], failedRequests: [] };
      page.on('pageerror', (error) => problems.errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        // With the URL it came from: "Failed to load resource" names no URL in its text.
        const at = message.location().url;
        if (message.type() === 'error') problems.errors.push(`console.error: ${message.text()}${at ? ` (${at})` : ''}`);
      });
      page.on('requestfailed', (request) => {
        problems.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
      });
      return { page, context, problems };
    },
    close() {
      closing ??= (async () => {
        for (const context of contexts) await context.close().catch(() => undefined);
        contexts.clear();
        await browser.close();
      })();
      return closing;
    },
  };
}
