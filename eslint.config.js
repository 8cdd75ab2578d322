// Type-checked lint for the whole monorepo, plus the import rules of docs/architecture.md:
// which package may import which and the layers inside the server. Import cycles are
// checked by madge (`npm run lint`).
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const restrict = (...patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
});
const ours = (name, message) => ({
  group: [`@securechat/${name}`, `@securechat/${name}/*`],
  message,
});
const notTools = {
  group: ['**/tools/**', '**/e2e/**'],
  message: 'Nothing imports tools/ or e2e/.',
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      'data/**',
      '**/*.tsbuildinfo',
      'packages/web/public/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'no-console': 'error',
      // Fastify plugins and handlers are async by contract, with or without an await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['packages/protocol/src/**'],
    rules: restrict(
      ours('sdk', 'protocol imports nothing of ours.'),
      ours('server', 'protocol imports nothing of ours.'),
      ours('web', 'protocol imports nothing of ours.'),
      notTools,
    ),
  },
  {
    files: ['packages/sdk/src/**'],
    rules: restrict(
      ours('server', 'The sdk talks to the server only over the wire.'),
      ours('web', 'The sdk does not know the UI.'),
      notTools,
    ),
  },
  {
    files: ['packages/server/src/**'],
    rules: restrict(
      ours('sdk', 'The server may use the sdk only in its tests.'),
      ours('web', 'The server serves the web build; it never imports it.'),
      notTools,
    ),
  },
  {
    files: ['packages/server/src/domain/**', 'packages/server/src/storage/**'],
    rules: restrict(
      {
        group: ['fastify', '@fastify/*', 'fastify-plugin', 'ws'],
        message: 'Domain and storage never import fastify or ws.',
      },
      {
        group: ['**/http/**', '**/realtime/**', '**/plugins/**'],
        message: 'Domain and storage never import the HTTP or realtime layers.',
      },
      ours('sdk', 'The server may use the sdk only in its tests.'),
    ),
  },
  {
    files: ['packages/server/src/storage/**'],
    rules: restrict(
      { group: ['**/domain/**'], message: 'Storage never imports domain.' },
      {
        group: ['fastify', '@fastify/*', 'fastify-plugin', 'ws'],
        message: 'Storage never imports fastify or ws.',
      },
    ),
  },
  {
    files: ['packages/server/src/http/**'],
    rules: restrict(
      {
        group: ['kysely', 'better-sqlite3', 'pg', '**/storage/**'],
        message: 'Routes never run SQL: call a domain action.',
      },
      ours('sdk', 'The server may use the sdk only in its tests.'),
    ),
  },
  {
    files: ['packages/web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...restrict(
        ours('server', 'The web app talks to the server only through the sdk.'),
        notTools,
      ),
    },
  },
  {
    files: ['**/test/**', 'e2e/**', 'tools/**', 'test-support/**', '**/cli.ts', '**/main.ts'],
    rules: { 'no-console': 'off' },
  },
);
