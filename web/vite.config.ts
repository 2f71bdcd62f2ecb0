/**
 * Builds the browser chat and the operator dashboard: root `web/`, output
 * `<repo>/dist/web`, which the master serves at `/` (the chat) and
 * `/dashboard/` (Socket.IO at `/socket.io`, REST at `/api/v1`, same origin).
 * `npm run build` runs `vite build --config web/vite.config.ts`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../dist/web', import.meta.url));

/**
 * The built page talks only to its own origin. Added at build time only:
 * the dev server injects inline styles that this policy would block.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:", // blob: image thumbnails fetched with the API key (image-batch.ts, batch-page.ts)
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'taskwire-csp',
    apply: 'build',
    transformIndexHtml: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' },
    ],
  };
}

export default defineConfig({
  root: webRoot,
  base: '/',
  publicDir: false,
  plugins: [contentSecurityPolicy()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One small entry chunk; no module preload polyfill (every supported browser has it).
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    // Two pages: the chat at / and the operator dashboard at /dashboard/.
    rollupOptions: { input: { chat: join(webRoot, 'index.html'), dashboard: join(webRoot, 'dashboard', 'index.html') } },
  },
  server: {
    // `npx vite --config web/vite.config.ts` against a master on :8080.
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
      '/api': { target: 'http://127.0.0.1:8080' },
    },
  },
});
