import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string, entry = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Exact names: each package entry maps to its source file.
    alias: [
      { find: /^@securechat\/protocol$/, replacement: src('protocol') },
      { find: /^@securechat\/sdk$/, replacement: src('sdk') },
      { find: /^@securechat\/sdk\/raw$/, replacement: src('sdk', 'raw') },
      { find: /^@securechat\/sdk\/node$/, replacement: src('sdk', 'node') },
    ],
  },
  test: {
    globalSetup: ['./test-support/services.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'tools/*/test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          // A sign-in runs OPAQUE's memory-hard key stretching in the page: allow for it.
          expect: { poll: { timeout: 15_000, interval: 50 } },
          testTimeout: 90_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
