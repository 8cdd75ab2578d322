// Type-checked lint for the whole monorepo, plus the import rules of docs/architecture.md:
// which package may import which and the layers inside the server. Import cycles are
// checked by madge (`npm run lint`).
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Import bans per layer. ESLint's flat config does not merge a rule's options across the
// blocks that match a file: the last block wins, so `packages/server/src/storage/**` would
// lose whatever `packages/server/src/**` banned. So each layer's whole list of bans is computed
// here (its parent's plus its own), and each file gets exactly one `no-restricted-imports`
// block: a layer's block ignores the folders of the layers nested in it.
// packages/server/test/lint-rules.test.ts proves each ban with a forbidden import.
const ours = (name, message) => ({
  group: [
    `@securechat/${name}`,
    `@securechat/${name}/*`,
    `**/packages/${name}/**`,
    `**/${name}/src/**`,
  ],
  message,
});
const notToolsOrE2e = {
  group: ['**/tools/**', '**/e2e/**', '@securechat/bench', '@securechat/e2e'],
  message: 'Nothing imports tools/ or e2e/.',
};
const frameworks = (who) => ({
  group: ['fastify', 'fastify/*', '@fastify/*', 'fastify-plugin', 'ws', 'light-my-request'],
  message: `${who} never import fastify or ws.`,
});
const upperLayers = (who) => ({
  group: ['**/http/**', '**/realtime/**', '**/plugins/**', '**/app.js', '**/main.js'],
  message: `${who} never import the HTTP or realtime layers.`,
});
const noSql = {
  group: ['kysely', 'better-sqlite3', 'pg', '**/storage/**'],
  message: 'Routes and the gateway never run SQL: call a domain action.',
};
const serverBans = [
  ours('sdk', 'The server may use the sdk only in its tests.'),
  ours('web', 'The server serves the web build; it never imports it.'),
  notToolsOrE2e,
];

/** Each layer: where it is, and everything it may not import. */
export const importLayers = [
  {
    name: 'protocol',
    files: ['packages/protocol/src/**'],
    bans: [
      ours('sdk', 'protocol imports nothing of ours.'),
      ours('server', 'protocol imports nothing of ours.'),
      ours('web', 'protocol imports nothing of ours.'),
      notToolsOrE2e,
    ],
  },
  {
    name: 'sdk',
    files: ['packages/sdk/src/**'],
    bans: [
      ours('server', 'The sdk talks to the server only over the wire.'),
      ours('web', 'The sdk does not know the UI.'),
      notToolsOrE2e,
    ],
  },
  {
    name: 'web',
    files: ['packages/web/src/**'],
    bans: [
      ours('server', 'The web app talks to the server only through the sdk.'),
      {
        group: ['@securechat/sdk/raw'],
        message:
          'The web app talks to rooms through client.conversations(), not the raw transport.',
      },
      notToolsOrE2e,
    ],
  },
  { name: 'server', files: ['packages/server/src/**'], bans: serverBans },
  {
    name: 'package tests',
    files: ['packages/*/test/**'],
    bans: [notToolsOrE2e],
  },
  {
    name: 'server/domain',
    files: ['packages/server/src/domain/**'],
    bans: [...serverBans, frameworks('Domain actions'), upperLayers('Domain actions')],
  },
  {
    name: 'server/storage',
    files: ['packages/server/src/storage/**'],
    bans: [
      ...serverBans,
      frameworks('Storage modules'),
      upperLayers('Storage modules'),
      {
        group: ['**/domain/**', '**/events/**'],
        message: 'Storage never imports domain or events.',
      },
    ],
  },
  {
    name: 'server/events',
    files: ['packages/server/src/events/**'],
    bans: [
      ...serverBans,
      frameworks('Event buses'),
      upperLayers('Event buses'),
      { group: ['**/domain/**'], message: 'Events never import domain.' },
    ],
  },
  { name: 'server/http', files: ['packages/server/src/http/**'], bans: [...serverBans, noSql] },
  {
    name: 'server/realtime',
    files: ['packages/server/src/realtime/**'],
    bans: [...serverBans, noSql],
  },
];

/** One block per layer, ignoring the layers nested inside it, so no file gets two. */
const layerBlocks = importLayers.map((layer) => {
  const nested = importLayers
    .filter((other) => other !== layer)
    .flatMap((other) => other.files)
    .filter((glob) =>
      layer.files.some((own) => glob !== own && glob.startsWith(own.replace(/\*\*$/, ''))),
    );
  return {
    name: `imports: ${layer.name}`,
    files: layer.files,
    ...(nested.length > 0 ? { ignores: nested } : {}),
    rules: { 'no-restricted-imports': ['error', { patterns: layer.bans }] },
  };
});

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
  ...layerBlocks,
  {
    files: ['packages/web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    files: ['**/test/**', 'e2e/**', 'tools/**', 'test-support/**', '**/cli.ts', '**/main.ts'],
    rules: { 'no-console': 'off' },
  },
);
