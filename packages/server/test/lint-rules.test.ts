/**
 * The import rules of docs/architecture.md, proven: ESLint runs with the repository's own
 * config on small snippets placed (virtually) in each layer, and every forbidden import must
 * fail while the allowed ones pass. Type-aware rules are switched off for speed; the import
 * bans do not need types.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({
    cwd: ROOT,
    overrideConfigFile: `${ROOT}eslint.config.js`,
    overrideConfig: [{ files: ['**/*.ts', '**/*.tsx'], ...tseslint.configs.disableTypeChecked }],
  });
});

/** The import-ban messages ESLint gives `source` as the file at `path` (from the root). */
async function bans(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport {};\n`, {
    filePath: `${ROOT}${path}`,
  });
  if (!result) throw new Error('no lint result');
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(fatal.map((m) => m.message).join('; '));
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const importOf = (specifier: string) => `import '${specifier}';`;

/** [file the snippet pretends to be, import specifier, why it is forbidden]. */
const FORBIDDEN: [string, string, string][] = [
  // Storage: nothing above it, no framework, none of the other packages.
  ['packages/server/src/storage/fixture.ts', '../domain/accounts.js', 'storage → domain'],
  ['packages/server/src/storage/fixture.ts', '../events/bus.js', 'storage → events'],
  ['packages/server/src/storage/fixture.ts', 'fastify', 'storage → fastify'],
  ['packages/server/src/storage/fixture.ts', 'ws', 'storage → ws'],
  ['packages/server/src/storage/fixture.ts', '../http/auth.js', 'storage → http'],
  ['packages/server/src/storage/fixture.ts', '@securechat/sdk', 'storage → sdk'],
  ['packages/server/src/storage/fixture.ts', '@securechat/web', 'storage → web'],
  [
    'packages/server/src/storage/fixture.ts',
    '../../../../tools/bench/src/main.js',
    'storage → tools',
  ],
  [
    'packages/server/src/storage/migrations/fixture.ts',
    '../../domain/access.js',
    'migration → domain',
  ],
  // Domain: no fastify or ws, nothing above it, and the server's own bans.
  ['packages/server/src/domain/fixture.ts', 'fastify', 'domain → fastify'],
  ['packages/server/src/domain/fixture.ts', 'fastify-plugin', 'domain → fastify-plugin'],
  ['packages/server/src/domain/fixture.ts', '@fastify/cookie', 'domain → @fastify/*'],
  ['packages/server/src/domain/fixture.ts', 'ws', 'domain → ws'],
  ['packages/server/src/domain/fixture.ts', '../http/auth.js', 'domain → http'],
  ['packages/server/src/domain/fixture.ts', '../realtime/gateway.js', 'domain → realtime'],
  ['packages/server/src/domain/fixture.ts', '../plugins/auth.js', 'domain → plugins'],
  [
    'packages/server/src/domain/rooms/fixture.ts',
    '../../realtime/handlers.js',
    'domain/rooms → realtime',
  ],
  ['packages/server/src/domain/fixture.ts', '@securechat/sdk', 'domain → sdk'],
  ['packages/server/src/domain/fixture.ts', '@securechat/web', 'domain → web'],
  ['packages/server/src/domain/fixture.ts', '../../../../e2e/support.js', 'domain → e2e'],
  // Events: a bus below domain.
  ['packages/server/src/events/fixture.ts', '../domain/delivery.js', 'events → domain'],
  ['packages/server/src/events/fixture.ts', 'fastify', 'events → fastify'],
  ['packages/server/src/events/fixture.ts', '../realtime/gateway.js', 'events → realtime'],
  ['packages/server/src/events/fixture.ts', '@securechat/sdk', 'events → sdk'],
  // Routes and the gateway run no SQL.
  ['packages/server/src/http/fixture.ts', 'kysely', 'http → kysely'],
  ['packages/server/src/http/fixture.ts', 'pg', 'http → pg'],
  ['packages/server/src/http/fixture.ts', '../storage/db.js', 'http → storage'],
  ['packages/server/src/http/fixture.ts', '@securechat/sdk', 'http → sdk'],
  ['packages/server/src/http/fixture.ts', '@securechat/web', 'http → web'],
  ['packages/server/src/http/fixture.ts', '../../../../tools/bench/src/main.js', 'http → tools'],
  ['packages/server/src/realtime/fixture.ts', 'better-sqlite3', 'realtime → better-sqlite3'],
  ['packages/server/src/realtime/fixture.ts', '../storage/db.js', 'realtime → storage'],
  ['packages/server/src/realtime/fixture.ts', '@securechat/sdk', 'realtime → sdk'],
  // The rest of the server.
  ['packages/server/src/plugins/fixture.ts', '@securechat/sdk', 'server → sdk'],
  ['packages/server/src/fixture.ts', '@securechat/web/src/main.js', 'server → web'],
  ['packages/server/src/fixture.ts', '../../../e2e/support.js', 'server → e2e'],
  // The packages.
  ['packages/protocol/src/fixture.ts', '@securechat/sdk', 'protocol → sdk'],
  ['packages/protocol/src/fixture.ts', '../../sdk/src/client.js', 'protocol → sdk (relative)'],
  ['packages/protocol/src/fixture.ts', '@securechat/server', 'protocol → server'],
  [
    'packages/protocol/src/http/fixture.ts',
    '../../../server/src/app.js',
    'protocol → server (relative)',
  ],
  ['packages/protocol/src/fixture.ts', '@securechat/web', 'protocol → web'],
  ['packages/protocol/src/fixture.ts', '../../../tools/bench/src/main.js', 'protocol → tools'],
  ['packages/sdk/src/fixture.ts', '@securechat/server', 'sdk → server'],
  [
    'packages/sdk/src/transport/fixture.ts',
    '../../../server/src/app.js',
    'sdk → server (relative)',
  ],
  ['packages/sdk/src/fixture.ts', '@securechat/web', 'sdk → web'],
  ['packages/sdk/src/fixture.ts', '../../../e2e/support.js', 'sdk → e2e'],
  ['packages/web/src/fixture.ts', '@securechat/server', 'web → server'],
  [
    'packages/web/src/features/x/fixture.tsx',
    '../../../../server/src/app.js',
    'web → server (relative)',
  ],
  ['packages/web/src/fixture.ts', '@securechat/sdk/raw', 'web → the raw transport'],
  ['packages/web/src/fixture.ts', '../../../tools/bench/src/main.js', 'web → tools'],
  ['packages/web/src/fixture.ts', '../../../e2e/support.js', 'web → e2e'],
  [
    'packages/server/test/fixture.test.ts',
    '../../../tools/bench/src/main.js',
    'server test → tools',
  ],
  ['packages/sdk/test/fixture.test.ts', '../../../e2e/support.js', 'sdk test → e2e'],
];

const ALLOWED: [string, string][] = [
  ['packages/server/src/storage/fixture.ts', 'kysely'],
  ['packages/server/src/storage/fixture.ts', '@securechat/protocol'],
  ['packages/server/src/storage/fixture.ts', './types.js'],
  ['packages/server/src/domain/fixture.ts', '../storage/db.js'],
  ['packages/server/src/domain/fixture.ts', '../events/bus.js'],
  ['packages/server/src/domain/fixture.ts', 'kysely'],
  ['packages/server/src/domain/fixture.ts', '@securechat/protocol'],
  ['packages/server/src/events/fixture.ts', 'ioredis'],
  ['packages/server/src/http/fixture.ts', 'fastify'],
  ['packages/server/src/http/fixture.ts', '../domain/accounts.js'],
  ['packages/server/src/realtime/fixture.ts', 'ws'],
  ['packages/server/src/realtime/fixture.ts', '../domain/delivery.js'],
  ['packages/server/src/plugins/fixture.ts', '../storage/db.js'],
  ['packages/server/src/fixture.ts', './http/index.js'],
  ['packages/server/test/fixture.test.ts', '@securechat/sdk'],
  ['packages/protocol/src/fixture.ts', '@sinclair/typebox'],
  ['packages/protocol/src/fixture.ts', './limits.js'],
  ['packages/sdk/src/fixture.ts', '@securechat/protocol'],
  ['packages/sdk/test/fixture.test.ts', '../../server/test/support/harness.js'],
  ['packages/web/src/fixture.ts', '@securechat/sdk'],
  ['packages/web/src/fixture.ts', '@securechat/protocol'],
];

describe('import rules', () => {
  it.each(FORBIDDEN)('%s: refuses %s (%s)', async (path, specifier) => {
    expect(await bans(path, importOf(specifier))).not.toEqual([]);
  });

  it.each(ALLOWED)('%s: allows %s', async (path, specifier) => {
    expect(await bans(path, importOf(specifier))).toEqual([]);
  });

  it('refuses a forbidden re-export and type import as well as a plain import', async () => {
    const path = 'packages/server/src/storage/fixture.ts';
    expect(await bans(path, "export { audit } from '../domain/audit.js';")).not.toEqual([]);
    expect(await bans(path, "import type { App } from '../app.js';")).not.toEqual([]);
  });
});
