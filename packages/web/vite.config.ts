import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const src = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));

const require = createRequire(import.meta.url);

/**
 * The Emojibase files the emoji picker and shortcode completion read
 * (features/conversation/emoji.tsx), by the path they are served under.
 */
const EMOJI_FILES: Record<string, string> = {
  'en/data.json': require.resolve('emojibase-data/en/data.json'),
  'en/messages.json': require.resolve('emojibase-data/en/messages.json'),
  'en/shortcodes/github.json': require.resolve('emojibase-data/en/shortcodes/github.json'),
};

/**
 * Serves Emojibase's data from our own origin, under /emoji/: copied into the build, and
 * answered by the dev server. The page never fetches it from a CDN (its CSP forbids that too).
 */
function emojiData(): Plugin {
  const read = (file: string) => readFileSync(EMOJI_FILES[file] ?? '');
  return {
    name: 'securechat-emoji-data',
    configureServer(server) {
      server.middlewares.use('/emoji/', (request, response, next) => {
        const file = (request.url ?? '').split('?', 1)[0]?.replace(/^\//, '') ?? '';
        if (!Object.hasOwn(EMOJI_FILES, file)) return next();
        response.setHeader('content-type', 'application/json');
        response.end(read(file));
      });
    },
    generateBundle() {
      for (const file of Object.keys(EMOJI_FILES))
        this.emitFile({ type: 'asset', fileName: `emoji/${file}`, source: read(file) });
    },
  };
}

export default defineConfig({
  plugins: [react(), emojiData()],
  resolve: {
    alias: {
      '@securechat/protocol': src('protocol'),
      '@securechat/sdk': src('sdk'),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline code: the page runs under a CSP without 'unsafe-inline'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 2500,
  },
  server: {
    proxy: { '/api': 'http://localhost:3000' },
  },
});
