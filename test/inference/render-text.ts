/** Renders lines of text to a PNG/JPEG (base64) with headless Chromium. */
import type { TestBrowser } from '../helpers/browser.js';

export async function renderText(browser: TestBrowser, lines: string[], type: 'png' | 'jpeg'): Promise<string> {
  const { page, context } = await browser.newPage({ viewport: { width: 800, height: 300 } });
  try {
    const html = lines.map((l) => `<div>${l.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</div>`).join('');
    await page.setContent(
      `<body style="margin:0;background:#fff"><main style="display:inline-block;padding:24px 32px;font:36px 'DejaVu Sans',sans-serif;line-height:1.8;color:#111">${html}</main></body>`,
    );
    const shot = await page.locator('main').screenshot({ type, ...(type === 'jpeg' ? { quality: 90 } : {}) });
    return shot.toString('base64');
  } finally {
    await context.close();
  }
}
